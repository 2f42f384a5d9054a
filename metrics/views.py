"""The metrics explorer and a metric's page. Their data comes from the metrics API, called with the session."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from flux.web.pages import page_context, project_or_404
from metrics.queries import AGGREGATIONS, DEFAULT_AGGREGATION, get_metric, list_cardinality_warnings


def cardinality_context(project_id: int, metric_id: int | None = None) -> dict:
    """What templates/metrics/cardinality_warnings.html shows: folded tag keys and the limits."""
    return {
        "cardinality_warnings": list_cardinality_warnings(project_id, metric_id),
        "values_limit": settings.FLUX_MAX_TAG_VALUES_PER_KEY,
        "series_limit": settings.FLUX_MAX_SERIES_PER_METRIC,
    }


@login_required
def explorer(request: HttpRequest, slug: str) -> HttpResponse:
    """The catalogue of metrics, searchable by name, type and tags."""
    project = project_or_404(request, slug)
    return render(request, "metrics/explorer.html", page_context(request, project, "metrics"))


@login_required
def metric_page(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    """One metric: a chart with aggregation and group-by selectors, and its summary statistics."""
    project = project_or_404(request, slug)
    metric = get_metric(project.pk, name)
    if metric is None:
        raise Http404("No such metric")
    context = page_context(request, project, "metrics", metric=metric)
    context.update(cardinality_context(project.pk, metric.pk))
    context["page"]["metric"] = {
        "name": metric.name, "type": metric.type, "aggregations": list(AGGREGATIONS[metric.type]),
        "default_aggregation": DEFAULT_AGGREGATION[metric.type],
    }  # fmt: skip
    return render(request, "metrics/metric.html", context)
