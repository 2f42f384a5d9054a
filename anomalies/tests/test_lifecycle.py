"""An anomaly's life: opened by a scan, updated while it lasts, resolved when the series is back, and what
people do to it (acknowledge, resolve, reopen, mute). Pushed live to the project's pages on commit."""

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from anomalies import notifications, services
from anomalies.models import Anomaly, Channel, Delivery, Watch
from anomalies.services import AnomalyStateError, Verdict
from anomalies.tests.concurrency import Worker, backend_pid, wait_until_blocked_by
from anomalies.tests.factories import make_watch
from flux.tenants.models import Project
from flux.web import realtime

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def anomalous(bucket: datetime, score: float = 0.8, severity: str = "warning", **fields: object) -> Verdict:
    defaults = {"kind": "spike", "direction": "up", "actual": 90.0, "expected": 30.0, "lower": 20.0, "upper": 40.0}
    return Verdict(bucket, 3600, True, score, severity, **{**defaults, **fields})


def normal(bucket: datetime) -> Verdict:
    return Verdict(bucket, 3600, False, 0.1, "info", actual=31.0, expected=30.0, lower=20.0, upper=40.0)


@pytest.fixture
def watch(project: Project) -> Watch:
    return make_watch(project)


def test_an_episode_opens_updates_and_resolves_by_itself(watch: Watch) -> None:
    change, anomaly = services.apply_verdict(watch, anomalous(T0, episode_start=T0 - HOUR), T0)
    assert change == "opened"
    assert (anomaly.status, anomaly.kind, anomaly.started_at, anomaly.severity) == (
        "open",
        "spike",
        T0 - HOUR,
        "warning",
    )
    change, same = services.apply_verdict(
        watch, anomalous(T0 + HOUR, score=0.97, severity="critical", actual=120.0), T0
    )
    assert change == "updated" and same.pk == anomaly.pk
    assert (same.score, same.severity, same.actual, same.last_anomalous_at) == (0.97, "critical", 120.0, T0 + HOUR)
    services.apply_verdict(watch, anomalous(T0 + 2 * HOUR, score=0.5, severity="info", actual=35.0), T0)
    cooling = Anomaly.objects.get(pk=anomaly.pk)
    assert cooling.severity == "critical"  # an episode never de-escalates...
    assert (cooling.actual, cooling.last_anomalous_at) == (120.0, T0 + 2 * HOUR)  # ...nor shows a weaker bucket
    minutes = Verdict(T0 + 2 * HOUR, 60, True, 0.99, "critical", "spike", "up", 4.0, 0.5, 0.0, 2.0)
    services.apply_verdict(watch, minutes, T0)  # another bucket width: its numbers would read as this one's
    assert (Anomaly.objects.get(pk=anomaly.pk).actual, Anomaly.objects.get(pk=anomaly.pk).score) == (120.0, 0.99)
    change, resolved = services.apply_verdict(watch, normal(T0 + 3 * HOUR), T0 + 3 * HOUR)
    assert change == "resolved"
    assert (resolved.status, resolved.resolved_at, resolved.resolved_by) == ("resolved", T0 + 3 * HOUR, "")
    assert services.apply_verdict(watch, normal(T0 + 4 * HOUR), T0) is None
    assert Anomaly.objects.filter(watch=watch).count() == 1


def test_a_second_scan_of_the_same_episode_opens_nothing_new(watch: Watch) -> None:
    services.apply_verdict(watch, anomalous(T0), T0)
    services.apply_verdict(watch, anomalous(T0), T0)  # an overlapping scan of the same bucket
    assert services.open_episode(watch, anomalous(T0)) is None  # even racing past the lookup, the constraint holds
    assert Anomaly.objects.filter(watch=watch).count() == 1


def test_a_muted_series_opens_nothing_until_the_mute_ends(watch: Watch) -> None:
    services.mute(watch, T0 + 2 * HOUR)
    assert services.apply_verdict(watch, anomalous(T0), T0) is None
    change, _ = services.apply_verdict(watch, anomalous(T0 + 3 * HOUR), T0 + 3 * HOUR)
    assert change == "opened"


def test_acknowledging_keeps_it_unresolved_and_records_who(watch: Watch) -> None:
    _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
    acknowledged = services.acknowledge(anomaly, "alice", "looking into the import job")
    assert (acknowledged.status, acknowledged.acknowledged_by, acknowledged.note) == (
        "acknowledged", "alice", "looking into the import job",
    )  # fmt: skip
    assert acknowledged.acknowledged_at is not None
    change, _ = services.apply_verdict(watch, normal(T0 + HOUR), T0 + HOUR)
    assert change == "resolved"  # acknowledged episodes still resolve by themselves


def test_resolving_by_hand_stays_quiet_until_the_series_is_normal_again(watch: Watch) -> None:
    _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
    resolved = services.resolve(anomaly, "bob")
    assert (resolved.status, resolved.resolved_by) == ("resolved", "bob")
    assert services.apply_verdict(watch, anomalous(T0 + HOUR), T0) is None  # the same stretch does not reopen
    services.apply_verdict(watch, normal(T0 + 2 * HOUR), T0)
    change, fresh = services.apply_verdict(watch, anomalous(T0 + 3 * HOUR), T0)
    assert change == "opened" and fresh.pk != anomaly.pk  # a new episode after it was normal


def test_reopening_works_once_and_not_over_a_newer_episode(watch: Watch) -> None:
    _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
    services.resolve(anomaly, "bob")
    reopened = services.reopen(anomaly, "bob")
    assert (reopened.status, reopened.resolved_at) == ("open", None)
    with pytest.raises(AnomalyStateError):
        services.reopen(reopened, "bob")
    services.resolve(reopened, "bob")
    services.apply_verdict(watch, normal(T0 + HOUR), T0)
    services.apply_verdict(watch, anomalous(T0 + 2 * HOUR), T0)
    with pytest.raises(AnomalyStateError, match="newer"):
        services.reopen(reopened, "bob")


@pytest.mark.parametrize("unjudged", ["excluded", "detection off"])
def test_an_anomaly_nothing_would_judge_again_is_not_reopened(watch: Watch, unjudged: str) -> None:
    """It could never resolve by itself, and gets no reminders: open for good."""
    _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
    if unjudged == "excluded":
        services.update_watch(watch, {"excluded": True})
    else:
        services.update_detection_settings(watch.project, {"enabled": False})
    assert Anomaly.objects.get(pk=anomaly.pk).status == "resolved"
    with pytest.raises(AnomalyStateError, match="nothing would resolve it again"):
        services.reopen(anomaly, "bob")
    assert Anomaly.objects.get(pk=anomaly.pk).status == "resolved"


def test_acknowledge_all_touches_only_open_ones(project: Project) -> None:
    first, second, third = (make_watch(project, name) for name in ("a", "b", "c"))
    for watch in (first, second, third):
        services.apply_verdict(watch, anomalous(T0), T0)
    services.resolve(Anomaly.objects.get(watch=third), "bob")
    count = services.acknowledge_all(Anomaly.objects.filter(project=project), "API key flx_admin_ab12…")
    assert count == 2
    assert sorted(Anomaly.objects.values_list("status", flat=True)) == ["acknowledged", "acknowledged", "resolved"]


def test_changes_are_pushed_to_the_projects_live_views_after_commit(
    watch: Watch, django_capture_on_commit_callbacks: object
) -> None:
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(realtime.project_group(watch.project_id), channel)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
        message = async_to_sync(layer.receive)(channel)
    finally:
        async_to_sync(layer.group_discard)(realtime.project_group(watch.project_id), channel)
    assert message["type"] == "flux.message"
    payload = message["payload"]
    assert (payload["kind"], payload["event"], payload["anomaly"]["id"]) == ("anomaly", "opened", anomaly.pk)
    assert payload["anomaly"]["series"]["name"] == "user.signup"
    assert payload["anomaly"]["deviation"] == 60.0 and payload["anomaly"]["deviation_percent"] == 200.0
    assert payload["open_count"] == 1  # counted once committed: the navigation's badge


def test_old_deliveries_are_purged_unless_they_record_an_unresolved_anomaly(project: Project) -> None:
    from anomalies.maintenance import purge_deliveries
    from anomalies.models import Channel, Delivery

    channel = Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    _, still_open = services.apply_verdict(make_watch(project, "a"), anomalous(T0), T0)
    _, over = services.apply_verdict(make_watch(project, "b"), anomalous(T0), T0)
    services.resolve(over, "bob")

    def delivery(anomaly_ids: list[int], status: str = "delivered") -> Delivery:
        made = Delivery.objects.create(project=project, channel=channel, event="opened", anomaly_ids=anomaly_ids,
                                       payload={}, status=status, next_attempt_at=T0)  # fmt: skip
        Delivery.objects.filter(pk=made.pk).update(created_at=T0)
        return made

    keep, drop, pending = delivery([still_open.pk]), delivery([over.pk]), delivery([over.pk], "pending")
    recent = Delivery.objects.create(project=project, channel=channel, event="resolved", anomaly_ids=[over.pk],
                                     payload={}, status="delivered", next_attempt_at=T0)  # fmt: skip
    assert purge_deliveries(T0 + timedelta(days=31)) == 1
    assert set(Delivery.objects.values_list("pk", flat=True)) == {keep.pk, pending.pk, recent.pk}
    assert not Delivery.objects.filter(pk=drop.pk).exists()


def test_a_scan_of_a_coarser_bucket_never_moves_an_episode_back_in_time(watch: Watch) -> None:
    # The minute checks saw the series anomalous until 10:19; the scan of the bucket [10:15, 10:20) confirms it.
    by_minutes = Verdict(T0 + timedelta(minutes=19), 60, True, 0.8, "warning", "flatline", "down", 0.0, 14.0)
    services.apply_verdict(watch, by_minutes, T0 + timedelta(minutes=20))
    bucket = Verdict(T0 + timedelta(minutes=15), 300, True, 0.7, "warning", "flatline", "down", 0.0, 10.0)
    _, anomaly = services.apply_verdict(watch, bucket, T0 + timedelta(minutes=20, seconds=18))
    assert Anomaly.objects.get(pk=anomaly.pk).last_anomalous_at == T0 + timedelta(minutes=19)


def start_a_scan_paused_holding_the_watch(
    watch: Watch, monkeypatch: pytest.MonkeyPatch
) -> tuple[Worker, int, threading.Event]:
    """A scan updating the watch's episode, paused once it holds the watch's lock: its thread, its session's
    backend pid, and the event that lets it go on."""
    holds_the_watch, goes_on, session = threading.Event(), threading.Event(), []
    read_episode = services.unresolved

    def pausing_after_locking_the_watch(locked: Watch) -> Anomaly | None:
        if threading.current_thread() is scan:
            session.append(backend_pid())
            holds_the_watch.set()
            goes_on.wait(30)
        return read_episode(locked)

    monkeypatch.setattr(services, "unresolved", pausing_after_locking_the_watch)
    scan = Worker(lambda: services.apply_verdict(watch, anomalous(T0 + HOUR, score=0.9), T0 + HOUR))
    scan.start()
    assert holds_the_watch.wait(30)
    return scan, session[0], goes_on


@pytest.mark.django_db(transaction=True)
def test_a_person_resolving_an_episode_while_a_scan_updates_it_waits_for_the_scan_and_never_deadlocks(
    watch: Watch, monkeypatch: pytest.MonkeyPatch
) -> None:
    anomaly = services.apply_verdict(watch, anomalous(T0), T0)[1]
    scan, scan_session, scan_goes_on = start_a_scan_paused_holding_the_watch(watch, monkeypatch)
    person = Worker(lambda: services.resolve(anomaly, "alice"))
    person.start()
    wait_until_blocked_by(scan_session)  # the person's request now waits for the scan
    scan_goes_on.set()
    assert scan.outcome()[0] == "updated"
    person.outcome()
    resolved = Anomaly.objects.get(pk=anomaly.pk)
    assert (resolved.status, resolved.resolved_by, resolved.score) == ("resolved", "alice", 0.9)
    assert Watch.objects.get(pk=watch.pk).quiet_until_normal


@pytest.mark.django_db(transaction=True)
def test_a_project_deleted_while_a_scan_updates_its_episode_waits_for_the_scan_and_never_deadlocks(
    project: Project, watch: Watch, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flux.celery import app as celery_app
    from flux.tenants.services import delete_project

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # the raw data's purge, after commit
    services.apply_verdict(watch, anomalous(T0), T0)
    scan, scan_session, scan_goes_on = start_a_scan_paused_holding_the_watch(watch, monkeypatch)
    deletion = Worker(lambda: delete_project(project))
    deletion.start()
    wait_until_blocked_by(scan_session)  # the deletion now waits for the scan
    scan_goes_on.set()
    assert scan.outcome()[0] == "updated"
    deletion.outcome()
    assert not Project.objects.filter(pk=project.pk).exists()
    assert not Anomaly.objects.filter(project_id=project.pk).exists()


def test_a_change_of_nothing_to_a_watch_writes_nothing_over_what_scans_and_rollup_runs_stored(
    watch: Watch,
) -> None:
    requested = Watch.objects.get(pk=watch.pk)  # as a PATCH of {} (or of unknown fields only) reads it
    # Meanwhile a rollup run marks late rows and a scan stores its cache.
    Watch.objects.filter(pk=watch.pk).update(stale_from=T0 - HOUR, stale_marks=1, history=b"\0" * 8, history_end=T0)
    services.update_watch(requested, {})
    stored = Watch.objects.values_list("stale_from", "stale_marks", "history_end").get(pk=watch.pk)
    assert stored == (T0 - HOUR, 1, T0)


def flatline(bucket: datetime) -> Verdict:
    return anomalous(bucket, 0.95, "critical", kind="flatline", direction="down", actual=0.0, expected=12.0,
                     lower=5.0, upper=20.0)  # fmt: skip


def test_a_surge_far_past_where_a_flatline_stood_ends_it_and_opens_a_spike(
    project: Project, watch: Watch, django_capture_on_commit_callbacks: Callable
) -> None:
    """The detector's run goes on from the flatline through the surge; the lifecycle must not call 528
    events where 12 were expected a "flatline down", nor keep the surge from every channel."""
    Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    _, stopped = services.apply_verdict(watch, flatline(T0), T0)
    notifications.notify_changes(project.pk, [("opened", stopped)], T0)
    coming_back = anomalous(T0 + HOUR, 0.9, "critical", actual=14.0, expected=0.0, episode_start=T0)
    assert services.apply_verdict(watch, coming_back, T0)[0] == "updated"  # back near 12: the same incident
    assert Anomaly.objects.get(pk=stopped.pk).actual == 0.0  # a return changes none of its numbers

    surge = anomalous(T0 + 2 * HOUR, 0.99, "critical", actual=528.0, expected=12.0, upper=20.0, episode_start=T0)
    with django_capture_on_commit_callbacks(execute=True):  # the resolution is told once committed
        change, spike = services.apply_verdict(watch, surge, T0 + 2 * HOUR)
    assert (change, spike.kind, spike.direction, spike.started_at) == ("opened", "spike", "up", T0 + 2 * HOUR)
    ended = Anomaly.objects.get(pk=stopped.pk)
    assert (ended.status, ended.kind, ended.actual, ended.resolved_by) == ("resolved", "flatline", 0.0, "")
    assert [(d.event, d.anomaly_ids) for d in Delivery.objects.order_by("pk")] == [
        ("opened", [stopped.pk]), ("resolved", [stopped.pk])
    ]  # fmt: skip


def test_resolved_by_hand_a_new_incident_the_other_way_still_opens(watch: Watch) -> None:
    _, stopped = services.apply_verdict(watch, flatline(T0), T0)
    services.resolve(stopped, "bob")
    assert services.apply_verdict(watch, flatline(T0 + HOUR), T0) is None  # the same incident stays quiet
    back = anomalous(T0 + 2 * HOUR, actual=20.0, expected=0.0)
    assert services.apply_verdict(watch, back, T0) is None  # coming back is not news either
    change, spike = services.apply_verdict(watch, anomalous(T0 + 3 * HOUR, actual=260.0, expected=4.0), T0)
    assert (change, spike.kind) == ("opened", "spike")
    assert not Watch.objects.get(pk=watch.pk).quiet_until_normal


def test_a_stop_that_opened_as_a_drop_is_a_flatline_once_its_run_shows_it(watch: Watch) -> None:
    """A stream that stopped opened as a drop on its first empty bucket and stayed one: `kind=flatline` never
    listed it. A later bucket of a less specific kind (or the other way) leaves the name as it is."""
    drop = {"kind": "drop", "direction": "down", "actual": 0.0, "expected": 10.0, "lower": 4.0, "upper": 16.0}
    _, stop = services.apply_verdict(watch, anomalous(T0, **drop), T0)
    assert stop.kind == "drop"
    services.apply_verdict(watch, anomalous(T0 + HOUR, **{**drop, "kind": "flatline"}), T0)
    assert Anomaly.objects.get(pk=stop.pk).kind == "flatline"
    services.apply_verdict(watch, anomalous(T0 + 2 * HOUR, **drop), T0)
    assert Anomaly.objects.get(pk=stop.pk).kind == "flatline"


def test_a_drop_below_its_band_opens_after_a_spike_resolved_by_hand_as_a_false_alarm(watch: Watch) -> None:
    """A spike of 16 where 0 was expected, resolved as a false alarm; then the series fell to a fifth (9 where
    49.5 was expected, band 23 to 85): 8 times the spike's move from 0 was never reached, so nothing opened."""
    _, false_alarm = services.apply_verdict(watch, anomalous(T0, actual=16.0, expected=0.0, lower=0.0, upper=6.4), T0)
    services.resolve(false_alarm, "bob", "false alarm")
    drop = {"kind": "drop", "direction": "down", "expected": 49.5, "lower": 23.3, "upper": 85.3}
    inside = anomalous(T0 + HOUR, actual=30.0, **drop)
    assert services.apply_verdict(watch, inside, T0) is None  # within its band: the series coming back
    change, opened = services.apply_verdict(watch, anomalous(T0 + 2 * HOUR, actual=9.0, **drop), T0)
    assert (change, opened.kind, opened.direction, opened.actual) == ("opened", "drop", "down", 9.0)


def test_a_series_watched_again_while_its_incident_goes_on_opens_no_second_episode(watch: Watch) -> None:
    _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
    services.update_watch(watch, {"excluded": True})
    services.update_watch(watch, {"excluded": False})
    assert services.apply_verdict(watch, anomalous(T0 + HOUR), T0 + HOUR) is None  # the same incident
    services.apply_verdict(watch, normal(T0 + 2 * HOUR), T0 + 2 * HOUR)
    change, fresh = services.apply_verdict(watch, anomalous(T0 + 3 * HOUR), T0 + 3 * HOUR)
    assert change == "opened" and fresh.pk != anomaly.pk  # once normal again, a new incident opens


def test_a_channel_that_heard_a_resolution_is_not_told_it_again_after_a_reopen(project: Project, watch: Watch) -> None:
    Channel.objects.create(project=project, name="Ops", kind="slack", target="https://hooks.example/x")
    _, anomaly = services.apply_verdict(watch, anomalous(T0), T0)
    notifications.notify_changes(project.pk, [("opened", anomaly)], T0)
    change = services.apply_verdict(watch, normal(T0 + HOUR), T0 + HOUR)
    notifications.notify_changes(project.pk, [change], T0 + HOUR)
    Delivery.objects.update(status="delivered")
    services.reopen(anomaly, "bob")
    again = services.apply_verdict(watch, normal(T0 + 2 * HOUR), T0 + 2 * HOUR)
    assert again is not None and notifications.notify_changes(project.pk, [again], T0 + 2 * HOUR) == []
    assert list(Delivery.objects.order_by("pk").values_list("event", flat=True)) == ["opened", "resolved"]
