from django.urls import path

from flux.sharing.api import SharedDataView, ShareLinkDetailView, ShareLinkListView

# Share links are managed on the dashboard's path (dashboards/urls.py has no pattern these could shadow).
urlpatterns = [
    path("shared/data", SharedDataView.as_view(), name="api-shared-data"),
    path("dashboards/<str:reference>/shares", ShareLinkListView.as_view(), name="dashboard-shares"),
    path("dashboards/<str:reference>/shares/<int:link_id>", ShareLinkDetailView.as_view(), name="dashboard-share"),
]
