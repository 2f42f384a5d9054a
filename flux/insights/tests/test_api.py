"""GET /api/v1/insights/summary and /api/v1/insights/compare: answers, facts, errors and who may read them."""

import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from anomalies.tests.factories import make_watch, open_anomaly
from flux.insights.tests.factories import answer_of, insert_hourly_events, steady
from flux.tenants.models import Project
from flux.tenants.services import issue_key
from flux.tests.openapi.schema import assert_documented

SUMMARY, COMPARE = "/api/v1/insights/summary", "/api/v1/insights/compare"


@pytest.fixture
def shop(project: Project, monkeypatch: pytest.MonkeyPatch) -> Project:
    """Two weeks of signups ending this hour, a third more from 45 hours ago, and one anomaly; the clock stays
    in this hour (a request just after it would see an empty hour more)."""
    this_hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", lambda: this_hour + timedelta(minutes=30))
    insert_hourly_events(project, "user.signup", this_hour - timedelta(days=14), steady(291, 40) + steady(45, 52))
    open_anomaly(make_watch(project, "user.signup"), this_hour - timedelta(hours=45), "critical", "spike")
    return project


@pytest.fixture
def document(db: None) -> dict:
    response = Client().get("/api/schema", {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def assert_facts_hold(client: object, answer: dict) -> None:
    assert answer["facts"]
    for fact in answer["facts"]:
        assert answer_of(client, fact) == pytest.approx(fact["value"]), fact


def test_compare_answers_the_sentence_and_its_facts_hold(api: type, keys: dict, shop: Project, document: dict) -> None:
    client = api(keys["read"])
    response = client.get(COMPARE, {"name": "user.signup", "period": "last_7d"})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["text"].startswith("user.signup events are up ")
    assert "The rise started " in answer["text"]
    assert answer["change_start"]["after"] == pytest.approx(52, abs=0.5)
    assert_facts_hold(client, answer)
    assert_documented(document, COMPARE, "get", response)


def test_compare_defaults_to_the_week(api: type, keys: dict, shop: Project) -> None:
    answer = api(keys["read"]).get(COMPARE, {"name": "user.signup"}).json()
    assert (answer["period"], "week-over-week" in answer["text"]) == ("last_7d", True)


def test_summary_answers_the_text_and_its_facts_hold(api: type, keys: dict, shop: Project, document: dict) -> None:
    client = api(keys["read"])
    response = client.get(SUMMARY, {"period": "last_7d"})
    assert response.status_code == 200, response.content
    answer = response.json()
    assert "Biggest mover week-over-week: user.signup events up " in answer["text"]
    assert (
        "1 anomaly was open during the last 7 days (1 critical); the most severe is a critical spike"
        in (answer["text"])
    )
    assert_facts_hold(client, answer)
    assert_documented(document, SUMMARY, "get", response)


def test_an_admin_key_and_a_members_session_may_read_too(api: type, keys: dict, shop: Project, bob: User) -> None:
    assert api(keys["admin"]).get(SUMMARY).status_code == 200
    client = Client()
    client.force_login(bob)
    assert client.get(COMPARE, {"name": "user.signup"}, HTTP_X_FLUX_PROJECT=shop.slug).status_code == 200


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        (COMPARE, {}, "name"),
        (COMPARE, {"name": "  "}, "name"),
        (COMPARE, {"name": "user.signup", "period": "last_week"}, "period"),
        (COMPARE, {"name": "user.signup", "kind": "widget"}, "kind"),
        (SUMMARY, {"period": "year"}, "period"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(
    api: type, keys: dict, project: Project, document: dict, path: str, params: dict, parameter: str
) -> None:
    response = api(keys["read"]).get(path, params)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_parameter", "message": response.json()["error"]["message"],
        "details": {"parameter": parameter},
    }  # fmt: skip
    assert_documented(document, path, "get", response)


def test_an_unknown_metric_asked_for_is_a_404(api: type, keys: dict, project: Project, document: dict) -> None:
    response = api(keys["read"]).get(COMPARE, {"name": "user.signup", "kind": "metric"})
    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    assert_documented(document, COMPARE, "get", response)


@pytest.mark.parametrize("path", [SUMMARY, COMPARE])
def test_an_ingest_key_is_refused(api: type, keys: dict, project: Project, document: dict, path: str) -> None:
    response = api(keys["ingest"]).get(path, {"name": "user.signup"})
    assert (response.status_code, response.json()["error"]["code"]) == (403, "permission_denied")
    assert_documented(document, path, "get", response)


@pytest.mark.parametrize("path", [SUMMARY, COMPARE])
def test_no_key_is_refused(api: type, project: Project, path: str) -> None:
    assert api(None).get(path, {"name": "user.signup"}).status_code == 401


def test_another_projects_key_sees_none_of_this_projects_data(api: type, shop: Project, other_project: Project) -> None:
    client = api(issue_key(other_project, "read").raw_key)
    compared = client.get(COMPARE, {"name": "user.signup"}).json()
    assert compared["text"] == "There were no user.signup events in the last 7 days or the 7 days before."
    summary = client.get(SUMMARY).json()
    assert summary["text"] == (
        "No events came in during the last 7 days or the 7 days before. No anomalies were open during the last 7 days."
    )
    assert (summary["anomalies"]["total"], summary["movers"]) == (0, [])
