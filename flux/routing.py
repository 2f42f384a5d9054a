"""Websocket routes. Each app adds its consumers here (the dashboards' live updates, the project feed)."""

from django.urls import URLPattern, path

from dashboards.consumers import DashboardConsumer
from flux.sharing.consumers import SharedDashboardConsumer
from flux.web.consumers import ProjectFeedConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/p/<slug:slug>/dashboards/<str:reference>/", DashboardConsumer.as_asgi()),
    path("ws/p/<slug:slug>/live/", ProjectFeedConsumer.as_asgi()),
    path("ws/shared/<str:token>/", SharedDashboardConsumer.as_asgi()),
]
