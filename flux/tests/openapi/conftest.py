"""The document under test, and a project with a little of every kind of data to read back."""

import json
from datetime import timedelta

import pytest
from django.test import Client

from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tests.openapi.schema import T0
from metrics.tests.factories import insert_point, make_series


@pytest.fixture(scope="module")
def document() -> dict:
    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.fixture
def shop(project: Project) -> Project:
    project.retention_days = 3650
    project.save()
    rows = [
        (0, "page.viewed", "u1", {"plan": "pro"}, None),
        (5, "user.signup", "u1", {"plan": "pro"}, 10.0),
        (20, "page.viewed", "u2", {"plan": "free"}, None),
        (30, "user.signup", "u2", {"plan": "free"}, 30.0),
        (90, "order.completed", "u1", {"plan": "pro"}, 120.0),
        (100, "page.viewed", "u3", {}, None),
    ]
    for minutes, name, user, tags, value in rows:
        insert_event(project, T0 + timedelta(minutes=minutes), name, user_id=user, tags=tags, value=value)
    gauge = make_series(project, "queue.depth", "gauge", queue="default")
    insert_point(gauge, T0, 5.0)
    insert_point(gauge, T0 + timedelta(minutes=30), 9.0)
    insert_point(make_series(project, "orders.count", "counter"), T0, 1.0)
    latency = make_series(project, "api.latency", "distribution", route="/x")
    for seconds in range(20):
        insert_point(latency, T0 + timedelta(seconds=seconds), float(seconds))
    insert_point(make_series(project, "visitors", "set"), T0, member="u1")
    return project
