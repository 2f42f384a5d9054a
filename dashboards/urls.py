from django.urls import path

from dashboards.api import (
    DashboardDetailView,
    DashboardDuplicateView,
    DashboardExportView,
    DashboardImportView,
    DashboardLayoutView,
    DashboardListView,
)
from dashboards.export_api import WidgetExportView
from dashboards.widget_api import (
    DashboardDataView,
    WidgetDataView,
    WidgetDetailView,
    WidgetListView,
    WidgetPreviewView,
)

urlpatterns = [
    path("dashboards", DashboardListView.as_view(), name="dashboards"),
    path("dashboards/import", DashboardImportView.as_view(), name="dashboard-import"),
    path("dashboards/<str:reference>", DashboardDetailView.as_view(), name="dashboard-detail"),
    path("dashboards/<str:reference>/duplicate", DashboardDuplicateView.as_view(), name="dashboard-duplicate"),
    path("dashboards/<str:reference>/export", DashboardExportView.as_view(), name="dashboard-export"),
    path("dashboards/<str:reference>/layout", DashboardLayoutView.as_view(), name="dashboard-layout"),
    path("dashboards/<str:reference>/data", DashboardDataView.as_view(), name="dashboard-data"),
    path("dashboards/<str:reference>/preview", WidgetPreviewView.as_view(), name="dashboard-preview"),
    path("dashboards/<str:reference>/widgets", WidgetListView.as_view(), name="dashboard-widgets"),
    path("dashboards/<str:reference>/widgets/<int:widget_id>", WidgetDetailView.as_view(), name="dashboard-widget"),
    path(
        "dashboards/<str:reference>/widgets/<int:widget_id>/data",
        WidgetDataView.as_view(),
        name="dashboard-widget-data",
    ),
    path(
        "dashboards/<str:reference>/widgets/<int:widget_id>/export",
        WidgetExportView.as_view(),
        name="dashboard-widget-export",
    ),
]
