from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from flux.storage.detect import table_layout


def home(request: HttpRequest) -> HttpResponse:
    """A start page for a fresh install: where to go next (the dashboards replace it later)."""
    with connection.cursor() as cursor:
        storage = table_layout(cursor, "events_event")
    return render(request, "home.html", {"storage": storage, "debug": settings.DEBUG})
