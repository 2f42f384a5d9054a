"""Dashboard pages. Data comes from the REST API (called with the session, see flux.web.auth)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboards import queries, validation
from dashboards.serializers import dashboard_json
from flux.query.timerange import INTERVAL_LADDER
from flux.tenants.queries import get_key_by_raw, user_can
from flux.web.pages import page_context, page_panels, project_or_404, setup_context
from metrics.queries import AGGREGATIONS, DEFAULT_AGGREGATION


def editor_choices() -> dict:
    """What the widget editor offers, from the same lists the API validates against."""
    return {
        "types": list(validation.WIDGET_TYPES),
        "aggregations": {"events": list(validation.EVENT_AGGREGATIONS),
                         **{kind: list(names) for kind, names in AGGREGATIONS.items()}},
        "defaults": {"events": "count", **DEFAULT_AGGREGATION},
        "intervals": ["auto", *INTERVAL_LADDER],
        "formats": list(validation.FORMATS),
        "styles": list(validation.GRAPH_STYLES),
        "modes": list(validation.HEATMAP_MODES),
    }  # fmt: skip


@login_required
def setup_page(request: HttpRequest, slug: str) -> HttpResponse:
    """How to send data here, with copy-paste snippets and a test event."""
    project = project_or_404(request, slug)
    context = page_context(request, project, "setup")
    context["base_url"] = request.build_absolute_uri("/").rstrip("/")
    context |= setup_context(project)  # what features add: the MCP server's stdio configuration
    context["can_manage"] = user_can(project, request.user, "manage")
    context["otlp_resource_attributes"] = settings.FLUX_OTLP_RESOURCE_ATTRIBUTES
    context["series_limit"] = settings.FLUX_MAX_SERIES_PER_METRIC
    context["values_limit"] = settings.FLUX_MAX_TAG_VALUES_PER_KEY
    context["statsd"] = statsd_context(request, project)
    return render(request, "setup.html", context)


def statsd_context(request: HttpRequest, project: object) -> dict:
    """Where this server's StatsD listener is, and whether it stores into this project."""
    statsd_key = get_key_by_raw(settings.FLUX_STATSD_KEY) if settings.FLUX_STATSD_KEY else None
    return {
        "host": request.get_host().rsplit(":", 1)[0] if settings.FLUX_STATSD_HOST != "127.0.0.1" else "127.0.0.1",
        "port": settings.FLUX_STATSD_PORT,
        "serves_this_project": statsd_key is not None and statsd_key.project_id == project.pk,
    }


@login_required
def dashboard_list(request: HttpRequest, slug: str) -> HttpResponse:
    project = project_or_404(request, slug)
    dashboards = queries.list_dashboards(project).annotate(widget_count=Count("widgets"))
    return render(request, "dashboards/list.html", page_context(request, project, "dashboards", dashboards=dashboards))


@login_required
def dashboard_page(request: HttpRequest, slug: str, reference: str) -> HttpResponse:
    project = project_or_404(request, slug)
    dashboard = queries.get_dashboard(project, reference)
    if dashboard is None:
        raise Http404("No such dashboard")
    context = page_context(request, project, "dashboards", dashboard=dashboard, panels=page_panels("dashboard"))
    context["page"]["dashboard"] = dashboard_json(dashboard)
    context["page"]["choices"] = editor_choices()
    return render(request, "dashboards/view.html", context)
