"""Anomaly pages: the list, one anomaly, and the detection and notification settings. Their data comes
from the anomalies API, called with the session."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from anomalies import queries
from anomalies.models import Anomaly, Channel, Sensitivity, Severity
from flux.web.pages import page_context, project_or_404


@login_required
def anomaly_list(request: HttpRequest, slug: str) -> HttpResponse:
    """Anomalies, newest first, filtered by status, severity, kind and name; acknowledge or resolve them."""
    project = project_or_404(request, slug)
    context = page_context(request, project, "anomalies")
    context["page"]["choices"] = {
        "statuses": Anomaly.Status.values, "severities": Severity.values,
        "kinds": [(kind, kind.replace("_", " ")) for kind in Anomaly.Kind.values],  # "level shift", as rows say
    }  # fmt: skip
    return render(request, "anomalies/list.html", context)


@login_required
def anomaly_page(request: HttpRequest, slug: str, anomaly_id: int) -> HttpResponse:
    """One anomaly: its series with the expected band, the explanation, and the actions."""
    project = project_or_404(request, slug)
    anomaly = queries.get_anomaly(project, anomaly_id)
    if anomaly is None:
        raise Http404("No such anomaly")
    context = page_context(request, project, "anomalies", anomaly=anomaly)
    context["page"]["anomaly_id"] = anomaly.pk
    return render(request, "anomalies/detail.html", context)


@login_required
def settings_page(request: HttpRequest, slug: str) -> HttpResponse:
    """Sensitivity, exclusions and mutes per series, and notification channels with a test button."""
    project = project_or_404(request, slug)
    context = page_context(request, project, "anomalies")
    context["page"]["choices"] = {
        "sensitivities": Sensitivity.values, "severities": Severity.values, "kinds": Channel.Kind.values,
    }  # fmt: skip
    return render(request, "anomalies/settings.html", context)
