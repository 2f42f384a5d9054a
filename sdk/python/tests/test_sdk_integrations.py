"""The Django middleware and the Celery signals: two lines in an app, and its requests and tasks are tracked."""

from collections.abc import Iterator

import flux_sdk
import flux_sdk.celery
import pytest
from celery import Celery


@pytest.fixture
def module_client(capture: object) -> Iterator[flux_sdk.Client]:
    client = flux_sdk.init("flux_in_test", capture.url, flush_interval=3600)
    yield client
    flux_sdk.close()
    flux_sdk._client = None


def metrics_sent(capture: object) -> list[tuple[str, str, dict]]:
    return [(m["type"], m["name"], m["tags"]) for batch in capture.batches for m in batch.get("metrics", [])]


def test_the_django_middleware_times_requests_by_route_and_status(
    settings: object, client: object, capture: object
) -> None:
    settings.MIDDLEWARE = ["flux_sdk.django.FluxMiddleware", *settings.MIDDLEWARE]
    settings.FLUX_KEY, settings.FLUX_URL = "flux_in_test", capture.url
    try:
        client.get("/health")
        client.get("/no/such/page/")
        assert flux_sdk.flush(timeout=10)
    finally:
        flux_sdk.close()
        flux_sdk._client = None
    tags_ok = {"method": "GET", "route": "/health", "status": "200"}
    tags_missing = {"method": "GET", "route": "unmatched", "status": "404"}
    assert metrics_sent(capture) == [
        ("distribution", "http.server.duration_ms", tags_ok), ("counter", "http.server.requests", tags_ok),
        ("distribution", "http.server.duration_ms", tags_missing), ("counter", "http.server.requests", tags_missing),
    ]  # fmt: skip


def test_celery_task_outcomes_and_durations_are_tracked(module_client: flux_sdk.Client, capture: object) -> None:
    app = Celery("sdk-test", set_as_current=False)
    app.conf.task_always_eager = True

    @app.task(name="shop.send_receipt")
    def send_receipt() -> str:
        return "sent"

    @app.task(name="shop.charge")
    def charge() -> None:
        raise ValueError("card declined")

    flux_sdk.celery.track_tasks()
    try:
        send_receipt.delay()
        charge.apply()  # eager: the failure is stored in the result, not raised
    finally:
        flux_sdk.celery.untrack_tasks()
    module_client.flush(timeout=10)
    sent = metrics_sent(capture)
    assert ("counter", "celery.tasks", {"task": "shop.send_receipt", "state": "SUCCESS"}) in sent
    assert ("distribution", "celery.task.duration_ms", {"task": "shop.send_receipt", "state": "SUCCESS"}) in sent
    assert ("counter", "celery.tasks", {"task": "shop.charge", "state": "FAILURE"}) in sent
    assert len(sent) == 4
