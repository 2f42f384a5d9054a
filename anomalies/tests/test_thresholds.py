"""Threshold alerts: a rule's alert opens while its window's aggregate breaches, resolves when it stops,
notifies through the project's channels, and is managed over the API with the usual keys and isolation."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from django.contrib.auth.models import User
from django.test import Client

from anomalies import delivery, thresholds
from anomalies.models import Anomaly, Channel, Delivery, ThresholdRule
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import issue_key
from metrics.tests.factories import insert_point, make_series

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RULES = "/api/v1/anomalies/thresholds"
ERROR_RATE = {"source": "metric", "name": "checkout.error_rate", "aggregation": "avg", "comparator": ">",
              "threshold": 0.02, "duration_minutes": 10, "severity": "critical"}  # fmt: skip


def error_rate_points(project: Project, start: datetime, minutes: int, value: float) -> None:
    series = make_series(project, "checkout.error_rate", "gauge")
    for minute in range(minutes):
        insert_point(series, start + timedelta(minutes=minute, seconds=30), value)


def test_an_alert_opens_while_the_window_breaches_and_resolves_after(project: Project) -> None:
    rule = thresholds.create_rule(project, dict(ERROR_RATE))
    Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    error_rate_points(project, NOW - timedelta(minutes=10), 10, 0.05)

    opened = thresholds.evaluate_rules(NOW)[project.pk]
    [(change, alert)] = opened
    assert change == "opened" and (alert.kind, alert.severity, alert.direction) == ("threshold", "critical", "up")
    assert alert.actual == pytest.approx(0.05) and alert.upper == 0.02 and alert.watch_id == rule.watch_id
    assert thresholds.evaluate_rules(NOW + timedelta(minutes=1))[project.pk][0][0] == "updated"

    later = NOW + timedelta(minutes=30)
    error_rate_points(project, later - timedelta(minutes=10), 10, 0.01)
    [(change, _)] = thresholds.evaluate_rules(later)[project.pk]
    assert change == "resolved" and Anomaly.objects.get(pk=alert.pk).status == "resolved"
    assert list(Delivery.objects.order_by("pk").values_list("event", "anomaly_ids")) == [
        ("opened", [alert.pk]),
        ("resolved", [alert.pk]),
    ]


def test_an_event_count_below_a_threshold_alerts_when_events_stop(project: Project) -> None:
    rule = thresholds.create_rule(project, {"source": "events", "name": "order.completed", "aggregation": "count",
                                            "comparator": "<", "threshold": 1, "duration_minutes": 15})  # fmt: skip
    insert_event(project, NOW - timedelta(minutes=5), "order.completed")
    assert thresholds.evaluate_rules(NOW) == {}
    [(change, alert)] = thresholds.evaluate_rules(NOW + timedelta(minutes=20))[project.pk]
    assert (change, alert.direction, alert.actual, alert.lower) == ("opened", "down", 0.0, 1.0)
    assert alert.watch.threshold_rules.get() == rule


def test_one_failing_rule_is_logged_and_the_other_rules_are_still_evaluated(
    project: Project, other_project: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    stopped = {"source": "events", "name": "order.completed", "aggregation": "count", "comparator": "<",
               "threshold": 1, "duration_minutes": 15}  # fmt: skip
    bad, good = (thresholds.create_rule(each, dict(stopped)) for each in (project, other_project))
    window_value = thresholds.window_value

    def broken_for_one(rule: ThresholdRule, now: datetime) -> float | None:
        if rule.pk == bad.pk:
            raise RuntimeError("a bug in one rule")
        return window_value(rule, now)

    monkeypatch.setattr(thresholds, "window_value", broken_for_one)
    changes = thresholds.evaluate_rules(NOW)
    assert list(changes) == [other_project.pk] and changes[other_project.pk][0][1].watch_id == good.watch_id
    assert f"rule {bad.pk}" in caplog.text


def test_an_alerts_page_shows_the_rules_aggregate_against_its_threshold(
    api: type, keys: dict, project: Project
) -> None:
    """The detail API (and so the alert's page and MCP's get_anomaly) of a threshold alert: the rule's
    trailing aggregate around it, the threshold as the band's edge, the breaching minutes marked."""
    thresholds.create_rule(project, dict(ERROR_RATE))
    error_rate_points(project, NOW - timedelta(hours=4), 240, 0.01)
    error_rate_points(project, NOW - timedelta(minutes=10), 10, 0.05)
    [(_, alert)] = thresholds.evaluate_rules(NOW)[project.pk]

    response = api(keys["read"]).get(f"/api/v1/anomalies/{alert.pk}")
    assert response.status_code == 200, response.json()
    context = response.json()["context"]
    times = [datetime.fromisoformat(point["time"]) for point in context]
    assert times[0] == NOW - timedelta(minutes=10) - thresholds.CONTEXT_BEFORE and times[-1] <= NOW + timedelta(hours=1)
    assert len(context) <= thresholds.CONTEXT_POINTS and len({b - a for a, b in pairwise(times)}) == 1
    assert {(point["upper"], point["lower"], point["expected"]) for point in context} == {(0.02, None, None)}
    calm = [point for point, moment in zip(context, times, strict=True) if moment <= NOW - timedelta(minutes=20)]
    assert calm and all(point["value"] == pytest.approx(0.01) and not point["is_anomaly"] for point in calm)
    breaching = [point for point in context if point["is_anomaly"]]
    assert breaching and all(point["value"] > 0.02 for point in breaching)


def test_a_rule_watch_is_not_listed_among_detected_series(api: type, keys: dict, project: Project) -> None:
    thresholds.create_rule(project, dict(ERROR_RATE))
    assert api(keys["read"]).get("/api/v1/anomalies/series").json()["series"] == []


def test_an_acknowledged_alert_stays_acknowledged_while_it_breaches(api: type, keys: dict, project: Project) -> None:
    thresholds.create_rule(project, dict(ERROR_RATE))
    error_rate_points(project, NOW - timedelta(minutes=10), 11, 0.05)
    [(_, alert)] = thresholds.evaluate_rules(NOW)[project.pk]
    assert api(keys["admin"]).post(f"/api/v1/anomalies/{alert.pk}/acknowledge", {}, format="json").status_code == 200
    thresholds.evaluate_rules(NOW + timedelta(minutes=1))
    assert Anomaly.objects.get(pk=alert.pk).status == "acknowledged"


def test_rules_are_created_listed_changed_and_deleted_over_the_api(api: type, keys: dict) -> None:
    admin = api(keys["admin"])
    created = admin.post(RULES, ERROR_RATE, format="json")
    assert created.status_code == 201
    rule = created.json()
    assert {key: rule[key] for key in ERROR_RATE} == ERROR_RATE and rule["tags"] == {}
    assert api(keys["read"]).get(RULES).json()["rules"] == [rule]
    changed = admin.patch(f"{RULES}/{rule['id']}", {"threshold": 0.05, "enabled": False}, format="json").json()
    assert (changed["threshold"], changed["enabled"]) == (0.05, False)
    assert admin.delete(f"{RULES}/{rule['id']}").status_code == 204
    assert not ThresholdRule.objects.exists()


def test_a_rule_made_before_its_metric_says_why_it_is_not_checked(api: type, keys: dict, project: Project) -> None:
    """Made before the metric existed, `p95` was allowed; the metric then came as a gauge, which has none: the
    rule was never evaluated, and nothing said so."""
    created = api(keys["admin"]).post(RULES, {**ERROR_RATE, "aggregation": "p95"}, format="json").json()
    assert created["problem"] == "No metric named checkout.error_rate yet: the rule is checked once one arrives."
    error_rate_points(project, NOW - timedelta(minutes=10), 10, 0.05)
    [listed] = api(keys["read"]).get(RULES).json()["rules"]
    assert listed["problem"].startswith("checkout.error_rate is a gauge, which has no p95: change the aggregation")
    changed = api(keys["admin"]).patch(f"{RULES}/{created['id']}", {"aggregation": "max"}, format="json").json()
    assert changed["problem"] is None
    assert thresholds.evaluate_rules(NOW)[project.pk][0][0] == "opened"


@pytest.mark.parametrize(
    ("change", "field"),
    [({"aggregation": "p95", "source": "events", "name": "x"}, "aggregation"), ({"comparator": "!="}, "comparator"),
     ({"duration_minutes": 0}, "duration_minutes"), ({"threshold": "high"}, "threshold"), ({"name": ""}, "name"),
     ({"tags": {"\x00": "x"}}, "tags"), ({"tags": {"k" * 101: "v"}}, "tags"),
     ({"tags": {f"k{i}": "v" for i in range(51)}}, "tags")],
)  # fmt: skip
def test_a_bad_rule_is_a_400_naming_the_field(api: type, keys: dict, change: dict, field: str) -> None:
    response = api(keys["admin"]).post(RULES, {**ERROR_RATE, **change}, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_keys_and_projects_are_kept_apart(api: type, keys: dict, other_project: Project) -> None:
    assert api(keys["read"]).post(RULES, ERROR_RATE, format="json").status_code == 403
    assert api(keys["ingest"]).get(RULES).status_code == 403
    foreign = thresholds.create_rule(other_project, dict(ERROR_RATE))
    assert api(keys["admin"]).get(RULES).json()["rules"] == []
    assert api(keys["admin"]).delete(f"{RULES}/{foreign.pk}").status_code == 404
    assert api(issue_key(other_project, "read").raw_key).get(RULES).json()["rules"][0]["id"] == foreign.pk


@pytest.mark.parametrize(("persona", "read", "write"), [("alice", 200, 201), ("bob", 200, 201), ("charlie", 404, 404)])
def test_every_endpoint_walked_as_each_persona(
    persona: str, read: int, write: int, project: Project, charlie: User
) -> None:
    existing = thresholds.create_rule(project, dict(ERROR_RATE))
    client = Client(HTTP_X_FLUX_PROJECT=project.slug)
    client.force_login(User.objects.get(username=persona))
    assert client.get(RULES).status_code == read
    assert client.post(RULES, ERROR_RATE, content_type="application/json").status_code == write
    patched = client.patch(f"{RULES}/{existing.pk}", {"threshold": 1}, content_type="application/json")
    assert patched.status_code == (200 if write == 201 else write)
    assert client.delete(f"{RULES}/{existing.pk}").status_code == (204 if write == 201 else write)


@pytest.mark.parametrize("change", ["delete", "switch off"])
def test_a_rule_deleted_or_switched_off_resolves_its_alert_and_tells_the_channels(
    api: type, keys: dict, project: Project, change: str
) -> None:
    """Nothing would judge the alert again: a receiver tracking incidents would keep it open for good."""
    rule = thresholds.create_rule(project, dict(ERROR_RATE))
    Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    error_rate_points(project, NOW - timedelta(minutes=10), 10, 0.05)
    [(_, alert)] = thresholds.evaluate_rules(NOW)[project.pk]

    admin = api(keys["admin"])
    if change == "delete":
        assert admin.delete(f"{RULES}/{rule.pk}").status_code == 204
        assert not Anomaly.objects.filter(pk=alert.pk).exists()
    else:
        assert admin.patch(f"{RULES}/{rule.pk}", {"enabled": False}, format="json").status_code == 200
        assert Anomaly.objects.get(pk=alert.pk).status == "resolved"
        reopened = admin.post(f"/api/v1/anomalies/{alert.pk}/reopen", {}, format="json")
        assert (
            reopened.json()["error"]["message"] == "Its threshold rule is switched off: nothing would resolve it again."
        )
    opened, resolved = Delivery.objects.order_by("pk")
    assert (opened.event, resolved.event, resolved.anomaly_ids) == ("opened", "resolved", [alert.pk])
    assert delivery.not_to_send(resolved) == ""  # sent, though the alert itself is gone with its rule


def test_a_project_has_a_bounded_number_of_rules(
    api: type, keys: dict, other_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each rule is a query a minute on the worker that also sends every project's notifications."""
    monkeypatch.setattr(thresholds, "MAX_RULES_PER_PROJECT", 2)
    thresholds.create_rule(other_project, dict(ERROR_RATE))
    answers = [api(keys["admin"]).post(RULES, ERROR_RATE, format="json") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 400]
    assert answers[2].json()["error"]["code"] == "limit_reached"
    assert ThresholdRule.objects.filter(project=other_project).count() == 1
