"""Websocket routes. Each app adds its consumers here (the dashboards' live updates, the events tail)."""

from django.urls import URLPattern

websocket_urlpatterns: list[URLPattern] = []
