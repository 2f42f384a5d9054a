"""GET /api/v1/overview and the ingestion outcomes behind its health section."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from events.tests.factories import insert_event
from flux.ingestion import outcomes
from flux.tenants.models import Project
from flux.web.redis_store import redis_client, redis_key
from metrics.tests.factories import insert_point, make_series

NOW = datetime.now(UTC).replace(second=0, microsecond=0)


@pytest.fixture
def fresh_counters(project: Project, other_project: Project) -> Iterator[None]:
    """Every test starts from no counters (a test run's keys have their own prefix: see conftest.py)."""

    def clear() -> None:
        for some_project in (project, other_project):
            keys = list(redis_client().scan_iter(f"{redis_key('ingest', some_project.pk)}:*"))
            if keys:
                redis_client().delete(*keys)

    clear()
    yield
    clear()


@pytest.fixture
def busy(project: Project) -> Project:
    """Today (last 2 h): 3 signups, 1 login, 5 queue.depth points; the 2 h before: 1 signup, 2 points."""
    for minutes in (10, 20, 30):
        insert_event(project, NOW - timedelta(minutes=minutes), "user.signup")
    insert_event(project, NOW - timedelta(minutes=40), "user.login")
    insert_event(project, NOW - timedelta(minutes=150), "user.signup")
    depth = make_series(project, "queue.depth", "gauge", queue="mail")
    for minutes in range(5):
        insert_point(depth, NOW - timedelta(minutes=minutes + 1), 3.0)
    for minutes in (130, 140):
        insert_point(depth, NOW - timedelta(minutes=minutes), 3.0)
    return project


def overview(api: type, key: str) -> dict:
    response = api(key).get("/api/v1/overview", {"from": "-2h", "to": "now", "interval": "1h"})
    assert response.status_code == 200, response.content
    return response.json()


def test_it_counts_what_came_in_against_the_range_before(api: type, keys: dict, busy: Project) -> None:
    body = overview(api, keys["read"])
    assert body["events"]["total"] == 4
    assert body["events"]["previous"] == 1
    assert body["events"]["change_percent"] == 300.0
    assert sum(count for _, count in body["events"]["series"]) == 4
    assert body["metric_points"]["total"] == 5
    assert body["metric_points"]["previous"] == 2
    assert body["top_events"] == [
        {"name": "user.signup", "count": 3, "previous": 1, "change_percent": 200.0},
        {"name": "user.login", "count": 1, "previous": 0, "change_percent": None},
    ]
    assert body["active_metrics"] == [
        {"name": "queue.depth", "type": "gauge", "points": 5, "previous": 2, "change_percent": 150.0}
    ]


def test_ingestion_health_counts_accepted_and_rejected_items_and_requests(
    post_json: object, api: type, keys: dict, project: Project, fresh_counters: None
) -> None:
    events = [{"name": "user.signup"}, {"name": "bad\nname"}, {"name": "user.login", "tags": {"a": {"b": 1}}}]
    assert post_json("/api/v1/events/batch", {"events": events}, key=keys["ingest"]).status_code == 202
    assert post_json("/api/v1/events/batch", "{not json", key=keys["ingest"]).status_code == 400
    health = overview(api, keys["read"])["ingestion"]
    assert health["available"] is True
    assert health["last_hour"] == {"accepted": 1, "duplicates": 0, "rejected_items": 2, "rejected_requests": 1}
    assert health["last_received_at"] is not None
    newest = health["recent_rejections"][0]
    assert newest["kind"] == "request" and "JSON" in newest["errors"][0]
    assert [(item["kind"], item["index"]) for item in health["recent_rejections"][1:]] == [("event", 2), ("event", 1)]


def test_ingestion_health_is_per_project(
    post_json: object, api: type, keys: dict, other_project: Project, fresh_counters: None
) -> None:
    from flux.tenants.services import issue_key

    other_ingest = issue_key(other_project, "ingest").raw_key
    other_read = issue_key(other_project, "read").raw_key
    assert post_json("/api/v1/events", {"name": "x"}, key=other_ingest).status_code == 202
    assert overview(api, keys["read"])["ingestion"]["last_hour"]["accepted"] == 0
    assert overview(api, other_read)["ingestion"]["last_hour"]["accepted"] == 1


def test_health_survives_redis_being_unreachable(project: Project, settings: object, monkeypatch: object) -> None:
    import redis

    monkeypatch.setattr(outcomes, "redis_client", lambda: redis.Redis(port=1, socket_connect_timeout=0.2))
    outcomes.record(project.pk, 1, 0, [], request_error=None)  # no exception
    health = outcomes.health(project.pk)
    assert health.available is False
    assert health.last_hour["accepted"] == 0


def test_overview_of_another_project_shows_none_of_this_one(api: type, busy: Project, other_project: Project) -> None:
    from flux.tenants.services import issue_key

    body = overview(api, issue_key(other_project, "read").raw_key)
    assert body["events"]["total"] == 0
    assert body["top_events"] == [] and body["active_metrics"] == []


def test_overview_needs_a_read_key(api: type, keys: dict) -> None:
    assert api(keys["ingest"]).get("/api/v1/overview").status_code == 403
    assert api(None).get("/api/v1/overview").status_code == 401


def test_unresolved_anomalies_are_counted_by_severity_and_listed(api: type, keys: dict, project: Project) -> None:
    from anomalies import services
    from anomalies.services import Verdict
    from anomalies.tests.factories import make_watch

    for name, severity in (("a", "critical"), ("b", "warning"), ("c", "warning")):
        verdict = Verdict(NOW, 3600, True, 0.9, severity, "spike", "up")
        services.apply_verdict(make_watch(project, name), verdict, NOW)
    _, resolved = services.apply_verdict(make_watch(project, "d"), Verdict(NOW, 3600, True, 0.6, "info"), NOW)
    services.resolve(resolved, "bob")
    anomalies = overview(api, keys["read"])["anomalies"]
    assert anomalies["open"] == {"info": 0, "warning": 2, "critical": 1}
    assert sorted(item["series"]["name"] for item in anomalies["newest"]) == ["a", "b", "c"]
