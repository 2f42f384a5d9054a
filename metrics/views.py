"""The metrics explorer and a metric's page. Their data comes from the metrics API, called with the session."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from flux.pages import page_context, project_or_404
from metrics.queries import AGGREGATIONS, DEFAULT_AGGREGATION, get_metric


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
    context["page"]["metric"] = {
        "name": metric.name, "type": metric.type, "aggregations": list(AGGREGATIONS[metric.type]),
        "default_aggregation": DEFAULT_AGGREGATION[metric.type],
    }  # fmt: skip
    return render(request, "metrics/metric.html", context)
