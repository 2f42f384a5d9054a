"""The public page of a share link: the dashboard read-only, without login and without the app's chrome."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboards.serializers import widget_json
from flux.sharing.services import dashboard_for_token


def shared_dashboard(request: HttpRequest, token: str) -> HttpResponse:
    """Anyone with the link sees the dashboard and its live data; `?kiosk=1` fits it to a TV screen."""
    dashboard = dashboard_for_token(token)
    if dashboard is None:
        raise Http404("This link does not exist, has expired or was revoked.")
    page = {
        "token": token, "dashboard": {"name": dashboard.name, "settings": dashboard.settings},
        "widgets": [widget_json(widget) for widget in dashboard.widgets.all()],
        "project": {"timezone": dashboard.project.timezone},
    }  # fmt: skip
    context = {"dashboard": dashboard, "page": page, "kiosk": request.GET.get("kiosk") == "1"}
    response = render(request, "sharing/shared.html", context)
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL: never send it to another site
    response["X-Robots-Tag"] = "noindex"
    return response
