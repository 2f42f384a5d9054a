"""Websocket routes. Each app adds its consumers here (the dashboards' live updates, the events tail)."""

from django.urls import URLPattern, path

from dashboards.consumers import DashboardConsumer

websocket_urlpatterns: list[URLPattern] = [
    path("ws/p/<slug:slug>/dashboards/<str:reference>/", DashboardConsumer.as_asgi()),
]
