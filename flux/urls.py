from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny

from anomalies import views as anomaly_views
from dashboards import views as dashboard_views
from events import views as event_views
from flux.insights.comparison_api import CompareView
from flux.otlp.api import OtlpLogsView, OtlpMetricsView, traces_not_taken
from flux.overview import views
from flux.overview.api import OverviewView
from flux.sharing import views as sharing_views
from flux.tenants import access_api
from flux.tenants.api import ProvisionView
from flux.web import health
from flux.web.api import CurrentProjectView
from metrics import views as metric_views

handler500 = "flux.web.errors.server_error"
admin.site.site_header = "Flux administration"
admin.site.site_title = "Flux"

urlpatterns = [
    path("", views.home, name="home"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("health", health.live, name="health"),
    path("health/ready", health.ready, name="health-ready"),
    path("up", health.live, name="up"),  # what Rails-style clients probe
    path(
        "api/schema",
        SpectacularAPIView.as_view(authentication_classes=[], permission_classes=[AllowAny]),
        name="api-schema",
    ),
    path(
        "api/docs",
        # The split view serves Swagger UI's settings as a script file: no inline script under the CSP.
        SpectacularSwaggerSplitView.as_view(
            url_name="api-schema", authentication_classes=[], permission_classes=[AllowAny]
        ),
        name="api-docs",
    ),
    path("api/v1/project", CurrentProjectView.as_view(), name="api-project"),
    path("api/v1/project/keys", access_api.KeyListView.as_view(), name="api-project-keys"),
    path("api/v1/project/keys/<int:key_id>", access_api.KeyDetailView.as_view(), name="api-project-key"),
    path("api/v1/project/members", access_api.MemberListView.as_view(), name="api-project-members"),
    path("api/v1/project/members/<int:member_id>", access_api.MemberDetailView.as_view(), name="api-project-member"),
    path("api/v1/overview", OverviewView.as_view(), name="api-overview"),
    path("api/v1/projects/provision", ProvisionView.as_view(), name="api-provision"),
    # Before the apps' URLs: the ingest endpoints share their paths (events, metrics/batch before metrics/<name>).
    path("api/v1/", include("flux.ingestion.urls")),
    path("v1/metrics", OtlpMetricsView.as_view(), name="otlp-metrics"),  # OTLP/HTTP's standard paths
    path("v1/logs", OtlpLogsView.as_view(), name="otlp-logs"),
    path("v1/traces", traces_not_taken, name="otlp-traces"),
    path("api/v1/compare", CompareView.as_view(), name="api-compare"),
    path("api/v1/", include("flux.sharing.urls")),
    path("api/v1/", include("events.urls")),
    path("api/v1/", include("metrics.urls")),
    path("api/v1/", include("dashboards.urls")),
    path("api/v1/", include("anomalies.urls")),
    path("api/v1/", include("annotations.urls")),
    path("api/v1/", include("flux.insights.urls")),
    path("admin/", admin.site.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("s/<str:token>/", sharing_views.shared_dashboard, name="shared-dashboard"),
    path("projects/switch", views.switch_project, name="switch-project"),
    path("p/<slug:slug>/", views.project_home, name="project-home"),
    path("p/<slug:slug>/settings/", views.project_settings, name="project-settings"),
    path("p/<slug:slug>/dashboards/", dashboard_views.dashboard_list, name="dashboard-list"),
    path("p/<slug:slug>/setup/", dashboard_views.setup_page, name="setup"),
    path("p/<slug:slug>/events/", event_views.explorer, name="events-explorer"),
    path("p/<slug:slug>/metrics/", metric_views.explorer, name="metrics-explorer"),
    path("p/<slug:slug>/metrics/<path:name>/", metric_views.metric_page, name="metric-page"),
    path("p/<slug:slug>/anomalies/", anomaly_views.anomaly_list, name="anomaly-list"),
    path("p/<slug:slug>/anomalies/settings/", anomaly_views.settings_page, name="anomaly-settings"),
    path("p/<slug:slug>/anomalies/<int:anomaly_id>/", anomaly_views.anomaly_page, name="anomaly-page"),
    path("p/<slug:slug>/dashboards/<str:reference>/", dashboard_views.dashboard_page, name="dashboard-page"),
]
