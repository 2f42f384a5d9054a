"""The SDK against a real Flux (uvicorn on the test database): what it sends is stored, once."""

import json

import flux_sdk
import pytest
from django.db import connection

from events.models import Event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

pytestmark = pytest.mark.e2e


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, str]:
    project = create_project("SDK shop")
    return project, issue_key(project, "ingest").raw_key


def stored_metrics(project: Project) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.type, m.name, s.tags::text, p.value, p.member FROM metrics_point p
            JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
            JOIN metrics_metric m ON m.id = s.metric_id
            WHERE p.project_id = %s ORDER BY m.name
            """,
            [project.pk],
        )
        return [(kind, name, json.loads(tags), value, member) for kind, name, tags, value, member in cursor.fetchall()]


def test_events_and_all_four_metric_types_arrive(live_flux: str, shop: tuple[Project, str]) -> None:
    project, key = shop
    client = flux_sdk.Client(key, live_flux, flush_interval=3600)
    client.track("Signed Up", properties={"plan": "pro"}, tags={"channel": "web"}, user_id="u1", value=49.5)
    client.gauge("queue.depth", 7, {"queue": "mail"})
    client.counter("orders", 2)
    client.distribution("latency_ms", 12.5)
    client.set("visitors", "u1")
    assert client.flush(timeout=20)
    client.close()

    event = Event.objects.get(project_id=project.pk)
    assert (event.name, event.user_id, event.value, event.tags, event.properties) == (
        "Signed Up", "u1", 49.5, {"channel": "web"}, {"plan": "pro"},
    )  # fmt: skip
    assert stored_metrics(project) == [
        ("distribution", "latency_ms", {}, 12.5, None), ("counter", "orders", {}, 2.0, None),
        ("gauge", "queue.depth", {"queue": "mail"}, 7.0, None), ("set", "visitors", {}, 1.0, "u1"),
    ]  # fmt: skip
    assert (client.stats.accepted, client.stats.rejected, client.stats.dropped_failed) == (5, 0, 0)


def test_a_batch_whose_answer_was_lost_is_retried_and_stored_once(
    live_flux: str, shop: tuple[Project, str], capture: object
) -> None:
    project, key = shop
    capture.upstream = live_flux  # Flux stores the first attempt, but the SDK is told 503
    capture.scripted = [(503, {"Retry-After": "0"})]
    client = flux_sdk.Client(key, capture.url, flush_interval=3600)
    client.track("Paid", user_id="u1")
    client.counter("payments")
    assert client.flush(timeout=20)
    client.close()

    assert len(capture.batches) == 2
    assert Event.objects.filter(project_id=project.pk, name="Paid").count() == 1
    assert [row[1:4] for row in stored_metrics(project)] == [("payments", {}, 1.0)]
    assert (client.stats.retries, client.stats.duplicates, client.stats.accepted) == (1, 2, 0)
