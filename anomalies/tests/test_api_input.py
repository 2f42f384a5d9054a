"""The anomalies API against malformed input: a 400 naming what is wrong, never a 500, and never a request
that does more than it says (a typo in a filter must not acknowledge everything)."""

from datetime import UTC, datetime

import pytest

from anomalies.models import Anomaly, Channel
from anomalies.tests.factories import make_watch, open_anomaly
from flux.tenants.models import Project

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def anomaly(project: Project) -> Anomaly:
    return open_anomaly(make_watch(project, "user.signup"), T0, "critical")


@pytest.mark.parametrize(
    "body",
    [
        ["critical"],
        "critical",
        5,
        {"severities": ["info"]},
        {"nmae": "user.*"},
        {"severity": {"critical": False}},
        {"severity": ","},
        {"severity": []},
        {"severity": ""},
        {"kind": [""]},
        {"kind": []},
        {"name": ""},
    ],
)
def test_acknowledge_all_refuses_a_body_it_cannot_read_and_acknowledges_nothing(
    api: type, keys: dict, anomaly: Anomaly, body: object
) -> None:
    response = api(keys["admin"]).post("/api/v1/anomalies/acknowledge_all", body, format="json")
    assert response.status_code == 400, response.json()
    assert Anomaly.objects.get(pk=anomaly.pk).status == "open"


def create_rule(api: type, keys: dict, name: str) -> dict:
    """A threshold rule on the count of events `name` (with the watch of its own), as the API answers it."""
    body = {"source": "events", "name": name, "aggregation": "count", "comparator": ">", "threshold": 1,
            "duration_minutes": 5}  # fmt: skip
    return api(keys["admin"]).post("/api/v1/anomalies/thresholds", body, format="json").json()


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [("post", "/api/v1/anomalies/{anomaly}/acknowledge", {"nte": "typo"}),
     ("post", "/api/v1/anomalies/{anomaly}/resolve", ["x"]),
     ("patch", "/api/v1/anomalies/settings", {"sensitivty": "high"}),
     ("patch", "/api/v1/anomalies/series/{watch}", {"mute_until": None}),
     ("patch", "/api/v1/anomalies/series/{watch}", ["excluded"]),
     ("post", "/api/v1/anomalies/channels", {"name": "n", "kind": "slack", "target": "https://x.example/h", "to": 1}),
     ("patch", "/api/v1/anomalies/channels/{channel}", {"enabeld": False}),
     ("patch", "/api/v1/anomalies/channels/{channel}", "x"),
     ("patch", "/api/v1/anomalies/thresholds/{rule}", {"name": "renamed"}),
     ("post", "/api/v1/anomalies/thresholds", {"source": "events", "name": "a", "aggregation": "count",
                                               "comparator": ">", "threshold": 1, "duration_minutes": 5, "tag": {}})],
)  # fmt: skip
def test_writes_refuse_unknown_fields_and_bodies_that_are_not_objects(
    api: type, keys: dict, project: Project, anomaly: Anomaly, method: str, path: str, body: object
) -> None:
    channel = Channel.objects.create(project=project, name="Ops", kind="slack", target="https://x.example/h")
    rule = create_rule(api, keys, "a")
    url = path.format(anomaly=anomaly.pk, watch=anomaly.watch_id, channel=channel.pk, rule=rule["id"])
    response = getattr(api(keys["admin"]), method)(url, body, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "invalid"


def test_a_threshold_rules_own_watch_is_not_a_watched_series(api: type, keys: dict) -> None:
    rule = create_rule(api, keys, "checkout")
    series = f"/api/v1/anomalies/series/{rule['watch_id']}"
    assert api(keys["read"]).get(f"{series}/backtest", {"from": "-7d"}).status_code == 404
    assert api(keys["admin"]).patch(series, {"excluded": False}, format="json").status_code == 404


READS = ["/api/v1/anomalies?status=all", "/api/v1/anomalies/settings", "/api/v1/anomalies/channels",
         "/api/v1/anomalies/thresholds"]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [("post", "/api/v1/anomalies/{anomaly}/acknowledge", {"note": 5}, "note"),
     ("patch", "/api/v1/anomalies/settings", {"enabled": "no"}, "enabled"),
     ("patch", "/api/v1/anomalies/settings", {"enabled": 0}, "enabled"),
     ("patch", "/api/v1/anomalies/series/{watch}", {"excluded": "yes"}, "excluded"),
     ("patch", "/api/v1/anomalies/channels/{channel}", {"notify_resolved": "false"}, "notify_resolved"),
     ("patch", "/api/v1/anomalies/channels/{channel}", {"renotify_minutes": "60"}, "renotify_minutes"),
     ("patch", "/api/v1/anomalies/channels/{channel}", {"name": ["Ops"]}, "name"),
     ("patch", "/api/v1/anomalies/thresholds/{rule}", {"threshold": "5"}, "threshold"),
     ("patch", "/api/v1/anomalies/thresholds/{rule}", {"duration_minutes": True}, "duration_minutes"),
     ("post", "/api/v1/anomalies/thresholds", {"source": "events", "name": "b", "aggregation": "count",
                                               "comparator": ">", "threshold": 1, "duration_minutes": 5,
                                               "tags": {"plan": 1}}, "tags")],
)  # fmt: skip
def test_writes_refuse_values_of_the_wrong_json_type_and_change_nothing(
    api: type, keys: dict, project: Project, anomaly: Anomaly, method: str, path: str, body: dict, field: str
) -> None:
    """DRF would read "no" as false and 5 as "5": a client sending them has a bug the API must show."""
    channel = Channel.objects.create(project=project, name="Ops", kind="slack", target="https://x.example/h")
    rule = create_rule(api, keys, "a")
    url = path.format(anomaly=anomaly.pk, watch=anomaly.watch_id, channel=channel.pk, rule=rule["id"])
    admin = api(keys["admin"])
    before = [admin.get(read).json() for read in READS]
    response = getattr(admin, method)(url, body, format="json")
    assert response.status_code == 400, response.json()
    assert list(response.json()["error"]["details"]) == [field]
    assert [admin.get(read).json() for read in READS] == before
