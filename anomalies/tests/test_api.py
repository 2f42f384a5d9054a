"""The anomalies API: listing and filtering, acting on anomalies, settings, watched series, channels;
which key may do what, and that another project's key reaches none of it."""

import base64
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from anomalies import services
from anomalies.models import Anomaly, Channel, Watch
from anomalies.queries import glob_to_regex
from anomalies.tests.factories import make_watch, open_anomaly
from flux.tenants.models import Project
from flux.tenants.services import issue_key

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
def anomalies(project: Project) -> list[Anomaly]:
    """Three anomalies: signups (critical spike, 10:00), logins (warning drop, 12:00), orders (info, resolved)."""
    signups = open_anomaly(make_watch(project, "user.signup"), T0, "critical")
    logins = open_anomaly(make_watch(project, "user.login"), T0 + timedelta(hours=2), "warning", "drop")
    orders = open_anomaly(make_watch(project, "order.completed"), T0 - timedelta(days=2), "info")
    services.resolve(orders, "bob")
    return [signups, logins, orders]


def listed(api: type, key: str, **params: str) -> list[str]:
    response = api(key).get("/api/v1/anomalies", params)
    assert response.status_code == 200, response.json()
    return [item["series"]["name"] for item in response.json()["anomalies"]]


def test_the_list_is_newest_first_and_filters(api: type, keys: dict, anomalies: list) -> None:
    read = keys["read"]
    assert listed(api, read) == ["user.login", "user.signup", "order.completed"]
    assert listed(api, read, status="open") == ["user.login", "user.signup"]
    assert listed(api, read, status="open,resolved", severity="critical,info") == ["user.signup", "order.completed"]
    assert listed(api, read, kind="drop") == ["user.login"]
    assert listed(api, read, name="user.*") == ["user.login", "user.signup"]
    assert listed(api, read, name="order.completed") == ["order.completed"]
    assert listed(api, read, to="2026-11-20T11:00:00Z") == ["user.signup", "order.completed"]
    assert listed(api, read, **{"from": "2030-01-01T00:00:00Z"}) == ["user.login", "user.signup"]  # still going


def test_the_list_pages_with_a_cursor(api: type, keys: dict, anomalies: list) -> None:
    first = api(keys["read"]).get("/api/v1/anomalies", {"limit": 2}).json()
    second = api(keys["read"]).get("/api/v1/anomalies", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [item["id"] for item in first["anomalies"] + second["anomalies"]] == [a.pk for a in anomalies[1::-1]] + [
        anomalies[2].pk
    ]
    assert second["next_cursor"] is None


def cursor(moment: str, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{moment}|{row_id}".encode()).decode()


@pytest.mark.parametrize(
    ("params", "parameter"),
    [({"status": "opened"}, "status"), ({"severity": "huge"}, "severity"), ({"from": "yesterday-ish"}, "from"),
     ({"cursor": "nope"}, "cursor"), ({"limit": "0"}, "limit"), ({"limit": "²"}, "limit"),
     ({"cursor": cursor("2026-11-20T10:00:00", 1)}, "cursor"),  # no offset
     ({"cursor": cursor("2026-11-20T10:00:00Z", 10**30)}, "cursor"),
     ({"from": "2026-11-21T00:00:00Z", "to": "2026-11-20T00:00:00Z"}, "from"), ({"name": "x" * 100_000}, "name"),
     ({"name": "*" * 1000}, "name"),  # longer than any name; its regular expression was too complex: a 500
     ({"limit": ["1", "2"]}, "limit"), ({"status": ["open", "resolved"]}, "status")],
)  # fmt: skip
def test_bad_filters_are_a_400_naming_the_parameter(api: type, keys: dict, params: dict, parameter: str) -> None:
    response = api(keys["read"]).get("/api/v1/anomalies", params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["parameter"] == parameter


def test_a_run_of_stars_in_a_name_glob_is_matched_as_one(api: type, keys: dict, anomalies: list) -> None:
    # PostgreSQL compiles a run of n stars in about n³ time: 300 took two seconds, a dashboard's 1,000 minutes.
    assert glob_to_regex("user.***") == glob_to_regex("user.*") == "^user\\..*$"
    assert listed(api, keys["read"], name="**.***") == ["user.login", "user.signup", "order.completed"]


def test_one_anomaly_shows_its_series_band_and_state(api: type, keys: dict, anomalies: list) -> None:
    body = api(keys["read"]).get(f"/api/v1/anomalies/{anomalies[0].pk}").json()
    assert body["series"]["name"] == "user.signup" and body["series"]["source"] == "events"
    assert (body["kind"], body["direction"], body["severity"], body["status"]) == ("spike", "up", "critical", "open")
    assert (body["actual"], body["expected"], body["lower"], body["upper"]) == (90.0, 30.0, 20.0, 40.0)
    assert body["deviation"] == 60.0 and body["started_at"] == "2026-11-20T10:00:00Z"


def test_acknowledge_resolve_and_reopen_record_who_did_it(api: type, keys: dict, anomalies: list) -> None:
    admin = api(keys["admin"])
    path = f"/api/v1/anomalies/{anomalies[0].pk}"
    acknowledged = admin.post(f"{path}/acknowledge", {"note": "deploy rolled back"}, format="json").json()
    assert acknowledged["status"] == "acknowledged" and acknowledged["note"] == "deploy rolled back"
    assert acknowledged["acknowledged_by"].startswith("API key flx_admin_")
    resolved = admin.post(f"{path}/resolve", format="json").json()
    assert resolved["status"] == "resolved" and resolved["resolved_by"].startswith("API key")
    assert admin.post(f"{path}/resolve", format="json").json()["error"]["code"] == "invalid_state"
    reopened = admin.post(f"{path}/reopen", {"note": "still failing"}, format="json").json()
    assert (reopened["status"], reopened["note"]) == ("open", "still failing")


def test_acknowledge_all_takes_filters(api: type, keys: dict, anomalies: list) -> None:
    response = api(keys["admin"]).post("/api/v1/anomalies/acknowledge_all", {"severity": ["critical"]}, format="json")
    assert response.json() == {"acknowledged": 1}
    assert api(keys["admin"]).post("/api/v1/anomalies/acknowledge_all", {}, format="json").json() == {"acknowledged": 1}
    assert listed(api, keys["read"], status="open") == []


@pytest.mark.parametrize(
    "severity", ["critical,warning", " critical , warning ", ["critical", "warning"], ["critical,warning"]]
)
def test_acknowledge_all_takes_a_list_or_comma_separated_values_as_the_list_does(
    api: type, keys: dict, anomalies: list, severity: object
) -> None:
    body = {"severity": severity, "kind": "spike,drop"}
    response = api(keys["admin"]).post("/api/v1/anomalies/acknowledge_all", body, format="json")
    assert response.json() == {"acknowledged": 2}


@pytest.mark.parametrize(
    "severity", ["critical,huge", ["critical", "huge"], "critical,,huge", 7, {"a": 1}, {"critical": False}]
)
def test_acknowledge_all_refuses_unknown_values_with_a_400_naming_the_field(
    api: type, keys: dict, anomalies: list, severity: object
) -> None:
    response = api(keys["admin"]).post("/api/v1/anomalies/acknowledge_all", {"severity": severity}, format="json")
    assert response.status_code == 400 and "severity" in response.json()["error"]["details"]
    assert listed(api, keys["read"], status="open") == ["user.login", "user.signup"]


def test_settings_and_series_can_be_tuned(api: type, keys: dict, project: Project) -> None:
    watch = make_watch(project, "user.signup")
    admin = api(keys["admin"])
    assert admin.get("/api/v1/anomalies/settings").json() == {"enabled": True, "sensitivity": "medium"}
    assert (
        admin.patch("/api/v1/anomalies/settings", {"sensitivity": "high"}, format="json").json()["sensitivity"]
        == "high"
    )
    assert admin.patch("/api/v1/anomalies/settings", {"sensitivity": "max"}, format="json").status_code == 400
    changed = admin.patch(
        f"/api/v1/anomalies/series/{watch.pk}", {"sensitivity": "low", "muted_until": "2026-12-01T00:00:00Z"},
        format="json",
    ).json()  # fmt: skip
    assert (changed["sensitivity"], changed["muted_until"]) == ("low", "2026-12-01T00:00:00Z")
    # null, as the list shows a series without its own sensitivity, writes back as the project's
    reset = admin.patch(f"/api/v1/anomalies/series/{watch.pk}", {"sensitivity": None}, format="json")
    assert reset.status_code == 200 and reset.json()["sensitivity"] is None
    [listed_watch] = api(keys["read"]).get("/api/v1/anomalies/series").json()["series"]
    assert listed_watch["id"] == watch.pk
    # How its scans go: a user could not see that a new busy series was scanned hourly, nor when it was last.
    assert (listed_watch["interval_seconds"], listed_watch["last_scanned_at"]) == (3600, None)
    assert datetime.fromisoformat(listed_watch["next_scan_at"]) == Watch.objects.get(pk=watch.pk).next_scan_at


def test_excluding_a_series_resolves_its_open_episode_only(api: type, keys: dict, anomalies: list) -> None:
    signups = anomalies[0]
    url = f"/api/v1/anomalies/series/{signups.watch_id}"
    response = api(keys["admin"]).patch(url, {"excluded": True}, format="json")
    assert response.status_code == 200 and response.json()["excluded"] is True
    signups.refresh_from_db()
    assert signups.status == Anomaly.Status.RESOLVED and signups.resolved_by.startswith("API key ")
    assert signups.note == "Resolved when this series was excluded from anomaly detection."
    assert listed(api, keys["read"], status="open") == ["user.login"]


def test_turning_detection_off_resolves_the_detectors_episodes_not_threshold_rules(
    api: type, keys: dict, project: Project, anomalies: list
) -> None:
    rule = open_anomaly(make_watch(project, "queue.depth", excluded=True), T0, "critical", "threshold")
    services.acknowledge(anomalies[1], "bob", "looking")
    response = api(keys["admin"]).patch("/api/v1/anomalies/settings", {"enabled": False}, format="json")
    assert response.json() == {"enabled": False, "sensitivity": "medium"}
    statuses = dict(Anomaly.objects.filter(project=project).values_list("watch__name", "status"))
    assert statuses == {"user.signup": "resolved", "user.login": "resolved", "order.completed": "resolved",
                        "queue.depth": "open"}  # fmt: skip
    logins = Anomaly.objects.get(pk=anomalies[1].pk)
    assert logins.note == "looking" and rule.kind == "threshold"


@pytest.mark.parametrize("until", ["2026-12-08", "2026-12-08 09:00", "2026-12-08T09:00:00", "tomorrow", 1765184400000])
def test_a_mute_needs_an_instant_with_its_offset(api: type, keys: dict, project: Project, until: object) -> None:
    """A date, or a time without its offset, was read in UTC: a mute "until 9:00" in Berlin ended an hour late."""
    watch = make_watch(project, "user.signup")
    response = api(keys["admin"]).patch(f"/api/v1/anomalies/series/{watch.pk}", {"muted_until": until}, format="json")
    assert response.status_code == 400 and "muted_until" in response.json()["error"]["details"]
    assert Watch.objects.get(pk=watch.pk).muted_until is None
    fine = api(keys["admin"]).patch(
        f"/api/v1/anomalies/series/{watch.pk}", {"muted_until": "2026-12-08T09:00:00+01:00"}, format="json"
    )
    assert fine.json()["muted_until"] == "2026-12-08T08:00:00Z"


def test_a_mute_for_good_reads_back_as_an_instant_every_zone_can_hold(api: type, keys: dict, project: Project) -> None:
    watch = make_watch(project, "user.signup")
    admin = api(keys["admin"])
    changed = admin.patch(
        f"/api/v1/anomalies/series/{watch.pk}", {"muted_until": "9999-12-31T23:59:59Z"}, format="json"
    )
    assert changed.json()["muted_until"] == "9999-01-01T00:00:00Z"
    [series] = admin.get("/api/v1/anomalies/series").json()["series"]
    until = datetime.fromisoformat(series["muted_until"])
    assert until.astimezone(ZoneInfo("Pacific/Kiritimati")).year == 9999  # UTC+14: not year 10000
    assert Watch.objects.get(pk=watch.pk).muted_until.year == 9999  # still muted: the series opens nothing


def test_channels_validate_their_target_and_never_show_the_secret(api: type, keys: dict, project: Project) -> None:
    admin = api(keys["admin"])
    created = admin.post(
        "/api/v1/anomalies/channels",
        {"name": "Ops hook", "kind": "webhook", "target": "https://example.com/hook", "secret": "s3cret"},
        format="json",
    )  # fmt: skip
    assert created.status_code == 201
    body = created.json()
    assert body["has_secret"] is True and "secret" not in body and body["min_severity"] == "info"
    bad_email = admin.post(
        "/api/v1/anomalies/channels", {"name": "Mail", "kind": "email", "target": "ops@, x"}, format="json"
    )
    assert bad_email.status_code == 400
    assert bad_email.json()["error"]["details"] == {"target": ["ops@ is not an email address"]}
    bad_url = admin.patch(f"/api/v1/anomalies/channels/{body['id']}", {"target": "ftp://x"}, format="json")
    assert bad_url.status_code == 400 and "target" in bad_url.json()["error"]["details"]
    assert admin.get(f"/api/v1/anomalies/channels/{body['id']}/deliveries").json() == {"deliveries": []}
    assert admin.delete(f"/api/v1/anomalies/channels/{body['id']}").status_code == 204
    assert not Channel.objects.filter(project=project).exists()


def test_an_email_channel_has_at_most_twenty_addresses(api: type, keys: dict) -> None:
    # Each test send mails every address at once: a key must not make Flux a bulk mailer.
    addresses = [f"ops{n}@example.com" for n in range(21)]
    for count, status in ((20, 201), (21, 400)):
        body = {"name": "Mail", "kind": "email", "target": ", ".join(addresses[:count])}
        response = api(keys["admin"]).post("/api/v1/anomalies/channels", body, format="json")
        assert response.status_code == status
    assert "at most 20" in response.json()["error"]["details"]["target"][0]


READS = ["/api/v1/anomalies", "/api/v1/anomalies/settings", "/api/v1/anomalies/series"]


def test_reads_need_a_read_key_and_writes_an_admin_key(api: type, keys: dict, anomalies: list) -> None:
    for path in READS:
        assert api(keys["read"]).get(path).status_code == 200, path
        assert api(keys["ingest"]).get(path).status_code == 403, path
        assert api(None).get(path).status_code == 401, path
    anomaly_path = f"/api/v1/anomalies/{anomalies[0].pk}"
    for action in ("acknowledge", "resolve", "reopen"):
        assert api(keys["read"]).post(f"{anomaly_path}/{action}", format="json").status_code == 403
    assert api(keys["read"]).post("/api/v1/anomalies/acknowledge_all", format="json").status_code == 403
    assert api(keys["read"]).patch("/api/v1/anomalies/settings", {}, format="json").status_code == 403
    assert api(keys["read"]).get("/api/v1/anomalies/channels").status_code == 403  # URLs and secrets: admin only


def test_another_projects_key_reaches_nothing_of_this_one(
    api: type, anomalies: list, project: Project, other_project: Project
) -> None:
    other = api(issue_key(other_project, "admin").raw_key)
    watch = anomalies[0].watch
    channel = Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    assert other.get("/api/v1/anomalies").json()["anomalies"] == []
    assert other.get("/api/v1/anomalies/series").json()["series"] == []
    assert other.get(f"/api/v1/anomalies/{anomalies[0].pk}").status_code == 404
    assert other.post(f"/api/v1/anomalies/{anomalies[0].pk}/acknowledge", format="json").status_code == 404
    assert other.patch(f"/api/v1/anomalies/series/{watch.pk}", {"excluded": True}, format="json").status_code == 404
    assert other.get(f"/api/v1/anomalies/channels/{channel.pk}").status_code == 404
    assert other.delete(f"/api/v1/anomalies/channels/{channel.pk}").status_code == 404
    assert other.post("/api/v1/anomalies/acknowledge_all", {}, format="json").json() == {"acknowledged": 0}
    assert Anomaly.objects.get(pk=anomalies[0].pk).status == "open"


def test_another_projects_key_cannot_replay_resolve_or_test_this_ones(
    api: type, anomalies: list, project: Project, other_project: Project
) -> None:
    other = api(issue_key(other_project, "admin").raw_key)
    anomaly, watch = anomalies[0], anomalies[0].watch
    channel = Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    assert other.get(f"/api/v1/anomalies/series/{watch.pk}/backtest", {"from": "-7d"}).status_code == 404
    for action in ("resolve", "reopen"):
        assert other.post(f"/api/v1/anomalies/{anomaly.pk}/{action}", format="json").status_code == 404
    assert other.post(f"/api/v1/anomalies/channels/{channel.pk}/test", format="json").status_code == 404
    assert other.get(f"/api/v1/anomalies/channels/{channel.pk}/deliveries").status_code == 404
    assert other.patch(f"/api/v1/anomalies/channels/{channel.pk}", {"enabled": False}, format="json").status_code == 404
    assert Anomaly.objects.get(pk=anomaly.pk).status == "open" and Channel.objects.get(pk=channel.pk).enabled
    assert not channel.deliveries.exists()


def test_a_channels_kind_cannot_change(api: type, keys: dict, project: Project) -> None:
    """Its queued deliveries hold the old kind's payload: an email's subject, a webhook's JSON."""
    channel = Channel.objects.create(project=project, name="Ops", kind="webhook", target="https://example.com/h")
    change = {"kind": "email", "target": "ops@example.com"}
    response = api(keys["admin"]).patch(f"/api/v1/anomalies/channels/{channel.pk}", change, format="json")
    assert response.status_code == 400 and list(response.json()["error"]["details"]) == ["kind"]
    assert Channel.objects.get(pk=channel.pk).kind == "webhook"
    same = api(keys["admin"]).patch(f"/api/v1/anomalies/channels/{channel.pk}", {"kind": "webhook"}, format="json")
    assert same.status_code == 200


@pytest.mark.parametrize("field", ["id", "created_at", "has_secret"])
def test_a_channels_read_only_fields_cannot_be_written(api: type, keys: dict, field: str) -> None:
    body = {"name": "Ops", "kind": "webhook", "target": "https://example.com/h", field: 7}
    response = api(keys["admin"]).post("/api/v1/anomalies/channels", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["details"] == {field: ["read-only field"]}


@pytest.mark.parametrize("body", [["x"], {"to": "ops@example.com"}])
def test_a_test_send_takes_no_body(api: type, keys: dict, project: Project, body: object) -> None:
    channel = Channel.objects.create(project=project, name="Ops", kind="webhook", target="https://example.com/h")
    response = api(keys["admin"]).post(f"/api/v1/anomalies/channels/{channel.pk}/test", body, format="json")
    assert response.status_code == 400 and not channel.deliveries.exists()


def test_a_project_has_a_bounded_number_of_channels(
    api: type, keys: dict, other_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services, "MAX_CHANNELS_PER_PROJECT", 2)
    Channel.objects.create(project=other_project, name="Theirs", kind="webhook", target="https://example.com/t")
    body = {"name": "Ops", "kind": "webhook", "target": "https://example.com/h"}
    answers = [api(keys["admin"]).post("/api/v1/anomalies/channels", body, format="json") for _ in range(3)]
    assert [answer.status_code for answer in answers] == [201, 201, 400]
    assert answers[2].json()["error"] == {
        "code": "limit_reached", "message": "A project has at most 2 channels; delete some first.",
        "details": {"limit": 2},
    }  # fmt: skip


def test_a_secret_and_a_rules_tags_are_kept_exactly_as_given(api: type, keys: dict, project: Project) -> None:
    """Trimmed, a signature made with " s3cret\\t" failed at the receiver, and a rule on "  web-1  " (as
    ingestion keeps it) matched no series."""
    admin = api(keys["admin"])
    body = {"name": "Ops", "kind": "webhook", "target": "https://example.com/h", "secret": " s3cret\t"}
    created = admin.post("/api/v1/anomalies/channels", body, format="json").json()
    assert Channel.objects.get(pk=created["id"]).secret == " s3cret\t"
    rule = {"source": "events", "name": "a", "aggregation": "count", "comparator": ">", "threshold": 1,
            "duration_minutes": 5, "tags": {"host": "  web-1  "}}  # fmt: skip
    assert admin.post("/api/v1/anomalies/thresholds", rule, format="json").json()["tags"] == {"host": "  web-1  "}
