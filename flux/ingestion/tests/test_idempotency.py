"""Items with a client `id` are stored once, however often they are retried."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from events.tests.factories import stored_events
from flux.ingestion.dedupe import purge_seen_ids
from flux.ingestion.models import SeenItemId
from flux.tenants.models import Project
from metrics.tests.factories import stored_points

NOW = datetime.now(UTC).isoformat()


def test_a_retried_batch_is_acknowledged_and_not_stored_twice(post_json: object, keys: dict, project: Project) -> None:
    batch = {
        "events": [{"name": "order.completed", "id": "o-1", "timestamp": NOW}, {"name": "no.id", "timestamp": NOW}],
        "metrics": [{"type": "counter", "name": "orders", "value": 1, "id": "m-1", "timestamp": NOW}],
    }
    first = post_json("/api/v1/flux/batch", batch, key=keys["ingest"])
    retry = post_json("/api/v1/flux/batch", batch, key=keys["ingest"])
    assert first.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    assert retry.status_code == 202
    assert retry.json() == {"accepted": 1, "duplicates": 2, "rejected": []}  # the item without id is new
    assert sorted(row["name"] for row in stored_events(project)) == ["no.id", "no.id", "order.completed"]
    assert len(stored_points(project)) == 1


def test_the_same_id_twice_in_one_batch_is_stored_once(post_json: object, keys: dict, project: Project) -> None:
    batch = [{"name": "a", "id": 7, "timestamp": NOW}, {"name": "b", "id": "7", "timestamp": NOW}]
    response = post_json("/api/v1/events/batch", batch, key=keys["ingest"])
    assert response.json()["duplicates"] == 1
    assert [row["name"] for row in stored_events(project)] == ["a"]


def test_ids_are_per_project_and_per_kind(post_json: object, keys: dict, other_project: Project) -> None:
    from flux.tenants.services import issue_key

    other_key = issue_key(other_project, "ingest").raw_key
    event = {"name": "e", "id": "shared", "timestamp": NOW}
    metric = {"type": "gauge", "name": "g", "value": 1, "id": "shared", "timestamp": NOW}
    assert post_json("/api/v1/events", event, key=keys["ingest"]).json()["accepted"] == 1
    assert post_json("/api/v1/events", event, key=other_key).json()["accepted"] == 1
    assert post_json("/api/v1/metrics", metric, key=keys["ingest"]).json()["accepted"] == 1


def test_rejected_items_do_not_claim_their_id(post_json: object, keys: dict, project: Project) -> None:
    post_json("/api/v1/events", {"name": "bad\nname", "id": "x-1"}, key=keys["ingest"])
    response = post_json("/api/v1/events", {"name": "good", "id": "x-1"}, key=keys["ingest"])
    assert response.json()["accepted"] == 1


def test_seen_ids_are_forgotten_after_the_idempotency_window(post_json: object, keys: dict, project: Project) -> None:
    post_json("/api/v1/events", {"name": "e", "id": "old"}, key=keys["ingest"])
    post_json("/api/v1/events", {"name": "e", "id": "new"}, key=keys["ingest"])
    SeenItemId.objects.filter(client_id="old").update(seen_at=datetime.now(UTC) - timedelta(days=8))
    assert purge_seen_ids(datetime.now(UTC) - timedelta(days=7)) == 1
    assert list(SeenItemId.objects.values_list("client_id", flat=True)) == ["new"]


@pytest.mark.django_db(transaction=True)
def test_concurrent_retries_store_an_item_once(keys: dict, project: Project) -> None:
    from django.test import Client

    barrier = threading.Barrier(4)
    statuses = []

    def send() -> None:
        barrier.wait()
        response = Client().post(
            "/api/v1/events", {"name": "race", "id": "same"}, "application/json",
            HTTP_AUTHORIZATION=f"Bearer {keys['ingest']}",
        )  # fmt: skip
        statuses.append(response.json()["accepted"])
        connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [0, 0, 0, 1]
    assert len(stored_events(project)) == 1
