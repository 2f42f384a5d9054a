"""The scan end to end on real rollups: watches appear for new series, a quiet series opens nothing, a
spike opens one anomaly, later normal hours resolve it, and two workers never scan a watch twice."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection

from anomalies import carry, services
from anomalies import scan as anomalies_scan
from anomalies.carry import fits_changed, pack_fits, read_entries, unpack, unpack_fits
from anomalies.detection import DetectorConfig, FitCache, carried_points, score_incremental, score_latest
from anomalies.detection.fitting import PROFILE_NUMBERS
from anomalies.history import floor_hour
from anomalies.models import Anomaly, Channel, DetectionSettings, Watch
from anomalies.notifications import notify_changes
from anomalies.refresh import refresh_histories
from anomalies.scan import CLAIM_LEASE, cached_values, claim, due_watch_ids, scan
from anomalies.tests.factories import make_watch
from anomalies.tests.test_detection_contract import assert_same
from anomalies.tests.test_detection_series import daily_counts
from anomalies.watches import sync_watches
from events.models import RollupWatermark
from events.rollups import STREAM, rebuild_event_rollups, roll_up_events
from events.seeding import copy_rows, event_rows, random_moments, seed_incident
from flux.tenants.models import Project
from metrics.tests.factories import make_series

HOUR = timedelta(hours=1)
# A fixed clock: the scan takes `now` as an argument, so no test depends on when it runs (an hour
# boundary crossed mid-run used to move the hours under the test's feet).
NOW = datetime(2026, 11, 18, 10, 20, tzinfo=UTC)
END = floor_hour(NOW)  # the first hour the tests add by hand; before it, five quiet weeks


def daily_count(hour: datetime) -> int:
    """About 6 signups an hour at night and 24 in the afternoon: under 30 an hour, so scored by the hour."""
    return 6 + round(18 * max(0.0, 1 - abs(hour.hour - 15) / 9))


def add_hour(project: Project, hour: datetime, count: int, tags: str = "{}", name: str = "user.signup") -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO events_event (project_id, time, received_at, name, tags)
               SELECT %s, %s + (n * interval '1 second'), now(), %s, %s::jsonb
               FROM generate_series(1, %s) AS n""",
            [project.pk, hour, name, tags, count],
        )


def roll_up_to(project: Project, complete_until: datetime) -> None:
    # Rows count as received at their transaction's start, all alike in a test: recompute the project's
    # buckets from everything received until now.
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": datetime.now(UTC)})
    rebuild_event_rollups(project.pk)
    RollupWatermark.objects.filter(stream=STREAM).update(watermark=complete_until + timedelta(minutes=1))


def roll_up_hour(project: Project, hour: datetime, count: int, received_at: datetime) -> None:
    """`count` events in `hour`, received at `received_at` and merged by a regular (incremental) rollup run;
    the rollups are then complete until the end of `hour`, as the scans of the test's clock read them."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO events_event (project_id, time, received_at, name, tags)
               SELECT %s, %s + (n * interval '1 second'), %s, 'user.signup', '{}' FROM generate_series(1, %s) AS n""",
            [project.pk, hour, received_at, count],
        )
    RollupWatermark.objects.filter(stream=STREAM).update(watermark=received_at - timedelta(minutes=1))
    roll_up_events(received_at + timedelta(minutes=1))
    RollupWatermark.objects.filter(stream=STREAM).update(watermark=hour + HOUR + timedelta(minutes=1))


@pytest.fixture
def quiet_weeks(project: Project) -> Project:
    hour = END - 35 * 24 * HOUR
    while hour < END:
        add_hour(project, hour, daily_count(hour))
        hour += HOUR
    roll_up_to(project, END)
    return project


def stamp(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def scan_at(moment: datetime) -> list[tuple]:
    result = scan(due_watch_ids(moment, 100), moment)
    return [
        (change, anomaly.kind, anomaly.status) for changes in result.changes.values() for change, anomaly in changes
    ]


def test_new_event_names_and_metric_series_get_watched_once(project: Project) -> None:
    add_hour(project, END - HOUR, 3)
    roll_up_to(project, END)
    make_series(project, "api.latency", "distribution", route="/")
    make_series(project, "queue.depth", "gauge")
    assert sync_watches(NOW) == 4  # signups' count; latency's p95 and count; queue depth's average
    assert sync_watches(NOW) == 0
    assert sorted(Watch.objects.filter(project=project).values_list("name", "measure")) == [
        ("api.latency", "count"), ("api.latency", "p95"), ("queue.depth", "avg"), ("user.signup", "count"),
    ]  # fmt: skip


def test_a_quiet_series_opens_nothing_and_a_spike_opens_one_anomaly(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    assert scan_at(NOW) == []
    watch = Watch.objects.get(project=quiet_weeks, name="user.signup")
    history = cached_values(watch)
    assert len(history) > 24 * 21 and watch.history_end == END
    assert history[-1] == daily_count(END - HOUR)

    add_hour(quiet_weeks, END, 20)
    add_hour(quiet_weeks, END, 180, tags='{"campaign": "black-friday"}')  # 10x the usual for the hour
    roll_up_to(quiet_weeks, END + HOUR)
    assert scan_at(NOW + HOUR + timedelta(minutes=3)) == [("opened", "spike", "open")]
    anomaly = Anomaly.objects.get(watch=watch)
    assert (anomaly.direction, anomaly.started_at, anomaly.actual) == ("up", END, 200.0)
    assert anomaly.expected < 50 and anomaly.upper < 200 and anomaly.severity == "critical"
    top = anomaly.explanation["contributors"][0]
    assert (top["tag"], top["value"], top["actual"]) == ("campaign", "black-friday", 180.0)
    assert anomaly.explanation["text"].endswith("of the rise is campaign=black-friday.")

    hour, changes = END + HOUR, []
    while not changes and hour < END + 12 * HOUR:
        add_hour(quiet_weeks, hour, daily_count(hour))
        roll_up_to(quiet_weeks, hour + HOUR)
        changes = [
            change for change in scan_at(NOW + (hour - END) + HOUR + timedelta(minutes=3)) if change[0] != "updated"
        ]
        hour += HOUR
    assert changes == [("resolved", "spike", "resolved")]
    assert Anomaly.objects.filter(watch=watch).count() == 1


def test_a_disabled_project_is_scanned_but_opens_nothing(quiet_weeks: Project) -> None:
    DetectionSettings.objects.create(project=quiet_weeks, enabled=False)
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)
    assert scan_at(NOW + HOUR + timedelta(minutes=3)) == []


def test_a_watch_is_claimed_by_one_caller_only(project: Project) -> None:
    add_hour(project, END - HOUR, 3)
    roll_up_to(project, END)
    sync_watches(NOW)
    ids = due_watch_ids(NOW, 100)
    assert claim(ids, NOW) == ids
    assert claim(ids, NOW) == []  # the second worker finds them no longer due
    assert due_watch_ids(NOW, 100) == []
    assert claim(ids, NOW + CLAIM_LEASE - timedelta(seconds=1)) == []  # still the first one's
    assert claim(ids, NOW + CLAIM_LEASE) == ids  # its batch never finished (its worker killed): due again


def test_excluded_series_are_never_due(project: Project) -> None:
    add_hour(project, END - HOUR, 3)
    roll_up_to(project, END)
    sync_watches(NOW)
    Watch.objects.filter(project=project).update(excluded=True)
    assert due_watch_ids(NOW, 100) == []


def test_an_anomaly_shows_its_band_and_a_backtest_replays_the_detector(
    api: type, keys: dict, quiet_weeks: Project
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)
    scan_at(NOW + HOUR + timedelta(minutes=3))
    anomaly = Anomaly.objects.get(project=quiet_weeks)
    detail = api(keys["read"]).get(f"/api/v1/anomalies/{anomaly.pk}").json()
    context = {point["time"]: point for point in detail["context"]}
    spike = context[stamp(END)]
    assert spike["value"] == 200.0 and spike["is_anomaly"] is True and spike["upper"] < 200
    before = context[stamp(END - HOUR)]
    assert before["is_anomaly"] is False and before["lower"] <= before["value"] <= before["upper"]
    assert len(detail["context"]) == 48 + 1 + 24  # two days before, the hour itself and the day after it

    week = {"from": stamp(END - 7 * 24 * HOUR), "to": stamp(END + HOUR)}
    backtest = api(keys["read"]).get(f"/api/v1/anomalies/series/{anomaly.watch_id}/backtest", week).json()
    assert [(item["started_at"], item["kind"]) for item in backtest["episodes"]] == [(stamp(END), "spike")]
    assert backtest["sensitivity"] == "medium" and len(backtest["points"]) == 7 * 24 + 1
    low = api(keys["read"]).get(
        f"/api/v1/anomalies/series/{anomaly.watch_id}/backtest", {"from": "-7d", "sensitivity": "low"}
    ).json()  # fmt: skip
    assert low["sensitivity"] == "low"
    too_long = api(keys["read"]).get(f"/api/v1/anomalies/series/{anomaly.watch_id}/backtest", {"from": "-200d"})
    assert too_long.status_code == 400 and too_long.json()["error"]["details"]["parameter"] == "from"

    # Read while the next hour is in progress, with events in it so far: it is not drawn (its count so far
    # showed as a fall to nearly nothing).
    add_hour(quiet_weeks, END + HOUR, 1)
    roll_up_to(quiet_weeks, END + HOUR + timedelta(minutes=30))
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr("django.utils.timezone.now", lambda: END + HOUR + timedelta(minutes=30))
        early = api(keys["read"]).get(f"/api/v1/anomalies/{anomaly.pk}").json()
    assert early["context"][-1]["time"] == stamp(END) and len(early["context"]) == 48 + 1


def test_a_new_event_stream_starts_its_history_at_its_first_hour(project: Project) -> None:
    for hours_ago in (3, 2, 1):
        add_hour(project, END - hours_ago * HOUR, 5)
    roll_up_to(project, END)
    sync_watches(NOW)
    assert scan_at(NOW) == []  # three hours of data: warming up, not a stream that came back from the dead
    watch = Watch.objects.get(project=project, name="user.signup")
    assert list(cached_values(watch)) == [5.0, 5.0, 5.0]


def test_a_series_with_data_only_in_the_current_hour_is_scanned_without_crashing(quiet_weeks: Project) -> None:
    # A brand-new event name, seen only in the hour still running.
    add_hour(quiet_weeks, END, 5, tags='{"first": "true"}', name="trial.started")
    roll_up_to(quiet_weeks, END)
    sync_watches(NOW)
    result = scan(due_watch_ids(NOW, 100), NOW)
    assert (result.scanned, result.failed) == (2, [])  # the new name and the signups alongside it
    new = Watch.objects.get(project=quiet_weeks, name="trial.started")
    assert len(cached_values(new)) == 0 and new.history_end == END and new.next_scan_at > NOW

    add_hour(quiet_weeks, END, daily_count(END))
    roll_up_to(quiet_weeks, END + HOUR)  # an hour later its first hour is complete: history starts there
    assert scan_at(NOW + HOUR + timedelta(minutes=3)) == []
    assert list(cached_values(Watch.objects.get(pk=new.pk))) == [5.0]


def test_one_bad_series_is_logged_and_skipped_and_the_rest_of_its_batch_is_scanned(
    quiet_weeks: Project, caplog: pytest.LogCaptureFixture
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    bad = make_watch(quiet_weeks, measure="p99", next_scan_at=NOW)  # a measure event counts do not have
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)
    later = NOW + HOUR + timedelta(minutes=3)
    result = scan(due_watch_ids(later, 100), later)
    assert result.failed == [bad.pk] and result.scanned == 1
    assert [(change, anomaly.kind) for change, anomaly in result.changes[quiet_weeks.pk]] == [("opened", "spike")]
    assert f"watch {bad.pk}" in caplog.text
    assert Watch.objects.get(pk=bad.pk).next_scan_at > later  # its due time advanced: no retry storm


def test_a_watch_whose_scan_failed_judges_its_buckets_at_its_next_scan(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure that passes (a lost connection) after the scoring must not cost the bucket it hit: the
    history and carry moved on, but the next scan re-reads the last buckets and opens what missed them."""
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)

    def fail(*args: object, **kwargs: object) -> list:
        raise ConnectionError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(anomalies_scan, "scan_verdicts", fail)  # after scoring: the carry has moved on
        later = NOW + HOUR + timedelta(minutes=3)
        assert len(scan(due_watch_ids(later, 100), later).failed) == 1
    add_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR))
    roll_up_to(quiet_weeks, END + 2 * HOUR)
    assert ("opened", "spike", "open") in scan_at(NOW + 2 * HOUR + timedelta(minutes=3))


def test_a_series_with_a_handful_of_points_opens_nothing(project: Project) -> None:
    add_hour(project, END - 5 * 24 * HOUR, 1)  # one signup five days ago, then nothing until a burst
    add_hour(project, END, 60)
    roll_up_to(project, END + HOUR)
    later = NOW + HOUR + timedelta(minutes=3)
    assert sync_watches(later) == 1
    assert scan_at(later) == []  # the detector alone calls this a critical spike
    assert not Anomaly.objects.filter(project=project).exists()


def test_a_young_series_opens_at_most_a_warning(project: Project) -> None:
    for hours_ago in range(4 * 24, 0, -3):  # four days of a trickle: past the warm-up, but 32 points of data
        add_hour(project, END - hours_ago * HOUR, 2)
    roll_up_to(project, END)
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(project, END, 300)
    roll_up_to(project, END + HOUR)
    assert scan_at(NOW + HOUR + timedelta(minutes=3)) == [("opened", "spike", "open")]
    assert Anomaly.objects.get(project=project).severity == "warning"


def test_late_data_refreshes_a_cached_history_and_the_stop_is_detected(project: Project) -> None:
    def orders(start: datetime, end: datetime) -> None:
        hour = start
        while hour < end:
            add_hour(project, hour, 24 + 2 * (hour.hour % 4), name="order.placed")  # ~28 an hour
            hour += HOUR

    # A backfill under way: the watch was made when its first week was in; the weeks after it are not
    # loaded yet, so the first scan caches them as hours without orders.
    orders(END - 35 * 24 * HOUR, END - 28 * 24 * HOUR)
    roll_up_to(project, END)
    watch = make_watch(project, name="order.placed", next_scan_at=NOW)
    assert scan_at(NOW) == []
    watch.refresh_from_db()
    assert cached_values(watch)[-48] == 0.0 and watch.stale_from is None

    orders(END - 28 * 24 * HOUR, END)  # the rest of the backfill arrives and is rolled up
    roll_up_to(project, END)
    watch.refresh_from_db()
    # The rollup run marked the cached hours it recomputed (this rebuild: all of the project's, from its first).
    assert watch.stale_from is not None and watch.stale_from <= END - 28 * 24 * HOUR

    opened, hour = [], END  # then orders stop: nothing from END on
    while not opened and hour < END + 6 * HOUR:
        roll_up_to(project, hour + HOUR)
        opened = [change for change in scan_at(hour + HOUR + timedelta(minutes=3)) if change[0] == "opened"]
        hour += HOUR
    watch.refresh_from_db()
    values, day_before = cached_values(watch), END - 24 * HOUR
    assert watch.stale_from is None and values[len(values) - (watch.history_end - day_before) // HOUR] == 28.0
    anomaly = Anomaly.objects.get(watch=watch)
    assert (opened, anomaly.direction) == ([("opened", anomaly.kind, "open")], "down")


# The demo's own data (events.seeding, as `seed_demo` writes it: 100,000 events over 30 days, seed 1)
# with its signup surge at 01:00-02:00 on a Wednesday: 60 signups where about 2 are usual.
DEMO_END = datetime(2026, 12, 2, 2, 17, tzinfo=UTC)
SURGE_HOUR = floor_hour(DEMO_END) - HOUR


def seed_demo_signups(project: Project) -> None:
    """The signups of the demo's events (the other names are left out: the scan of signups reads none)."""
    rng = random.Random(1)  # noqa: S311 (the demo's own seeded data, not a secret)
    rows = event_rows(project.pk, rng, random_moments(rng, DEMO_END, 30, 100_000), users=2000)
    copy_rows(
        "COPY events_event (project_id, time, name, user_id, session_id, value, tags, properties, environment,"
        " service) FROM STDIN",
        (row for row in rows if row[2] == "user.signup"),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE events_rawevent")  # as seed_demo does: the rollup's plan needs fresh statistics


def test_the_demo_surge_opens_even_when_it_reaches_the_rollups_after_its_hour_was_scanned(project: Project) -> None:
    seed_demo_signups(project)
    roll_up_to(project, floor_hour(DEMO_END))
    sync_watches(DEMO_END)
    assert scan_at(DEMO_END) == []  # the surge hour, still without its surge, is normal
    assert seed_incident(project, DEMO_END) == 60  # then the surge comes in, late for its hour
    roll_up_to(project, floor_hour(DEMO_END))
    assert Watch.objects.get(project=project).stale_from is not None
    assert scan_at(floor_hour(DEMO_END) + HOUR + timedelta(minutes=3)) == [("opened", "spike", "open")]
    anomaly = Anomaly.objects.get(project=project)
    assert (anomaly.started_at, anomaly.actual, anomaly.direction) == (SURGE_HOUR, 60.0, "up")
    assert anomaly.explanation["contributors"][0]["value"] == "black-friday"


def test_the_demo_surge_is_an_anomaly_channels_are_told_of(project: Project) -> None:
    seed_demo_signups(project)
    seed_incident(project, DEMO_END)
    roll_up_to(project, floor_hour(DEMO_END))
    sync_watches(DEMO_END)
    assert scan_at(DEMO_END) == [("opened", "spike", "open")]
    anomaly = Anomaly.objects.get(project=project)
    assert (anomaly.started_at, anomaly.actual) == (SURGE_HOUR, 60.0)
    assert anomaly.severity in ("warning", "critical"), (anomaly.score, anomaly.expected, anomaly.upper)


def test_a_scan_carries_its_results_to_the_next_one_which_scores_only_its_new_hour(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    watch = Watch.objects.get(project=quiet_weeks)
    config = DetectorConfig(3600, "count")
    first = unpack(watch.carry, END, 3600, "medium")
    assert first is not None and len(first) == carried_points(config)
    add_hour(quiet_weeks, END, daily_count(END))
    roll_up_to(quiet_weeks, END + HOUR)
    scan_at(NOW + HOUR + timedelta(minutes=3))
    watch.refresh_from_db()
    following = unpack(watch.carry, END + HOUR, 3600, "medium")
    values = cached_values(watch)
    times = (END + HOUR).timestamp() - 3600.0 * np.arange(len(values), 0, -1)
    from_scratch, _ = score_incremental(times, values, config, 1, None)
    assert following is not None and following.score[-1] == from_scratch.score[-1]
    assert unpack_fits(watch.fitted, 3600, "count").blocks  # the latest block's model fits, for the next scan
    np.testing.assert_array_equal(following.score[:-1], first.score[1:])  # the hours before: carried over


def test_a_reread_that_changes_a_cached_hour_drops_the_carry(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    watch = Watch.objects.get(project=quiet_weeks)
    refresh_histories([watch], END, HOUR)  # the last hours read again, unchanged: the carry stays
    watch.refresh_from_db()
    assert unpack(watch.carry, END, 3600, "medium") is not None
    add_hour(quiet_weeks, END - HOUR, 5)  # five more signups in the last cached hour, rolled up late
    roll_up_to(quiet_weeks, END)
    refresh_histories([watch], END, HOUR)
    watch.refresh_from_db()
    assert bytes(watch.carry) == bytes(watch.fitted) == b""
    assert cached_values(watch)[-1] == daily_count(END - HOUR) + 5


def test_stored_model_fits_score_exactly_as_fitting_again() -> None:
    times, values = daily_counts(days=10, interval=300, per_hour=120)
    config = DetectorConfig(300, "count")
    fits = FitCache()
    score_incremental(times[:-1], values[:-1], config, 1, None, fits)  # fits the block of the last bucket
    stored = unpack_fits(pack_fits(fits, 300, "count"), 300, "count")
    assert len(stored.blocks) == 3 and unpack_fits(pack_fits(fits, 300, "count"), 3600, "count").blocks == {}
    reused, _ = score_incremental(times, values, config, 1, None, stored)
    assert_same(reused, score_latest(times, values, config))


def test_model_fits_stored_before_the_time_of_day_profiles_are_fitted_again_not_misread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(carry, "DETECTOR_VERSION", 1)  # that layout was version 1's (a later one rebuilds it)
    times, values = daily_counts(days=10, interval=300, per_hour=120)
    config = DetectorConfig(300, "count")
    fits = FitCache()
    score_incremental(times[:-1], values[:-1], config, 1, None, fits)
    fits.blocks = {key: replace(item, same_time=None) for key, item in fits.blocks.items()}  # the earlier kept none
    packed = np.frombuffer(pack_fits(fits, 300, "count"), dtype="<f8").copy()
    packed[2] = 0  # the earlier layout's header: the value kind alone
    old_layout = b"".join(  # ...and no time-of-day field after each block's window
        np.array(chunk, dtype="<f8").tobytes() for chunk in _without_same_time_fields(packed)
    )
    stored = unpack_fits(old_layout, 300, "count")
    assert len(stored.blocks) == 3 and all(item.same_time is None for item in stored.blocks.values())
    refitted, _ = score_incremental(times, values, config, 1, None, stored)
    assert_same(refitted, score_latest(times, values, config))


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])  # a zone's key rides in the same header
def test_fits_a_scan_reused_as_read_are_not_stored_again(zone: str) -> None:
    times, values = daily_counts(days=10, interval=300, per_hour=120)
    config = DetectorConfig(300, "count", timezone=zone)
    inside = int(np.flatnonzero(times % 7200 == 3600)[-1])  # the bucket in the middle of the last full block
    fits = FitCache()
    _, carried = score_incremental(times[:inside], values[:inside], config, 1, None, fits)
    stored = pack_fits(fits, 300, "count", zone)
    read = unpack_fits(stored, 300, "count", zone)
    entries = read_entries(read)
    score_incremental(times[: inside + 1], values[: inside + 1], config, 1, carried, read)  # the same block
    assert not fits_changed(read, entries, stored)
    assert pack_fits(read, 300, "count", zone) == stored  # what storing them again would have written


def test_fits_of_a_new_block_are_stored() -> None:
    times, values = daily_counts(days=10, interval=300, per_hour=120)
    config = DetectorConfig(300, "count")
    start = int(np.flatnonzero(times % 7200 == 0)[-1])  # the first bucket of the last block
    fits = FitCache()
    _, carried = score_incremental(times[:start], values[:start], config, 1, None, fits)
    stored = pack_fits(fits, 300, "count")
    read = unpack_fits(stored, 300, "count")
    entries = read_entries(read)
    score_incremental(times[: start + 1], values[: start + 1], config, 1, carried, read)
    assert fits_changed(read, entries, stored)
    assert fits_changed(FitCache(), read_entries(FitCache()), b"")  # none read: whatever was fitted


def _without_same_time_fields(packed: np.ndarray) -> list[list[float]]:
    """The layout-1 numbers of pack_fits with each block's (empty) time-of-day field dropped."""
    entries, trends = int(packed[3]), int(packed[4])
    out, at = [list(packed[:5])], 5
    for _ in range(entries):
        lags = int(packed[at + 1])
        end = at + 2 + lags + 1 + PROFILE_NUMBERS + 2
        width = int(packed[end])
        out.append(list(packed[at : end + 1 + width]))
        at = end + 1 + width + 1 + int(packed[end + 1 + width])
    out.append(list(packed[at : at + 3 * trends]))
    return out


def test_a_watch_is_scored_in_its_projects_time_zone(quiet_weeks: Project) -> None:
    Project.objects.filter(pk=quiet_weeks.pk).update(timezone="America/New_York")
    sync_watches(NOW)
    scan_at(NOW)
    watch = Watch.objects.select_related("project").get(project=quiet_weeks)
    config = DetectorConfig(3600, "count", timezone="America/New_York")
    carried = unpack(watch.carry, END, 3600, "medium", "America/New_York")
    assert carried is not None and unpack(watch.carry, END, 3600, "medium") is None  # a UTC scan starts afresh
    assert unpack_fits(watch.fitted, 3600, "count", "America/New_York").blocks
    assert unpack_fits(watch.fitted, 3600, "count").blocks == {}
    values = cached_values(watch)
    times = END.timestamp() - 3600.0 * np.arange(len(values), 0, -1)
    from_scratch, _ = score_incremental(times, values, config, 1, None)
    assert carried.score[-1] == from_scratch.score[-1]


def test_a_project_zone_that_no_longer_reads_is_scanned_as_utc(quiet_weeks: Project) -> None:
    Project.objects.filter(pk=quiet_weeks.pk).update(timezone="Nowhere/Gone")  # past the model's validator
    sync_watches(NOW)
    scan_at(NOW)
    watch = Watch.objects.get(project=quiet_weeks)
    assert unpack(watch.carry, END, 3600, "medium") is not None


def test_a_scan_killed_mid_batch_is_taken_up_again_within_minutes(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anomalies.scan

    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)

    def killed(*args: object) -> None:
        raise SystemExit(137)  # the worker is killed (out of memory, a deploy's hard timeout) while scoring

    later = NOW + HOUR + timedelta(minutes=3)
    with monkeypatch.context() as patched, pytest.raises(SystemExit):
        patched.setattr(anomalies.scan, "scan_watch", killed)
        scan(due_watch_ids(later, 100), later)
    # The task redelivered, or beat's dispatch, minutes later: not the next hour's scan.
    assert scan_at(later + timedelta(minutes=10)) == [("opened", "spike", "open")]
    assert Anomaly.objects.get(project=quiet_weeks).started_at == END


def test_a_scan_killed_after_opening_an_episode_tells_of_it_when_the_watch_is_taken_up_again(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anomalies.scan

    channel = Channel.objects.create(project=quiet_weeks, name="Ops", kind="webhook", target="http://127.0.0.1:9/x")
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)

    def killed(*args: object) -> None:
        raise SystemExit(137)  # right after the opening is committed, before anyone is told of it

    later = NOW + HOUR + timedelta(minutes=3)
    with monkeypatch.context() as patched, pytest.raises(SystemExit):
        patched.setattr(anomalies.scan, "explain_episode", killed)
        scan(due_watch_ids(later, 100), later)
    assert Anomaly.objects.get(project=quiet_weeks).notified_at is None
    retried = later + timedelta(minutes=10)
    result = scan(due_watch_ids(retried, 100), retried)
    [delivery] = notify_changes(quiet_weeks.pk, result.changes[quiet_weeks.pk], retried)
    assert (delivery.channel_id, delivery.event) == (channel.pk, "opened")


def test_an_episode_that_opens_after_its_strongest_bucket_opens_with_that_buckets_verdict(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    watch = Watch.objects.get(project=quiet_weeks)
    services.mute(watch, END + HOUR + timedelta(minutes=30))  # through the scan of the surge's hour
    roll_up_hour(quiet_weeks, END, 200, datetime.now(UTC) + HOUR)
    assert scan_at(NOW + HOUR) == []
    roll_up_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR), datetime.now(UTC) + 2 * HOUR)
    assert scan_at(NOW + 2 * HOUR) == [("opened", "spike", "open")]  # the episode goes on: the mute is over
    anomaly = Anomaly.objects.get(project=quiet_weeks)
    # Not the verdict of the hour back to normal that it opened on (14 signups as expected, score 0: info).
    assert (anomaly.started_at, anomaly.last_anomalous_at, anomaly.severity) == (END, END + HOUR, "critical")
    assert anomaly.actual == 200.0 and anomaly.score >= 0.9


def test_an_anomaly_whose_explanation_fails_is_still_opened_and_told_of(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)
    roll_up_to(quiet_weeks, END + HOUR)

    def broken(*args: object) -> None:
        raise RuntimeError("the tag rollups could not be read")  # a lost connection, a bug on odd tags

    monkeypatch.setattr("anomalies.explain.tag_counts", broken)
    # The episode is committed before it is explained: the scan's changes (what its channels hear of) keep it.
    assert scan_at(NOW + HOUR + timedelta(minutes=3)) == [("opened", "spike", "open")]
    assert Anomaly.objects.get(project=quiet_weeks).explanation == {}
    assert "explaining anomaly" in caplog.text


def stored_cache(watch_id: int) -> tuple:
    row = Watch.objects.values_list("history_end", "history", "carry", "fitted").get(pk=watch_id)
    return tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)


def test_a_batch_slower_than_its_lease_does_not_store_its_older_cache_over_the_next_scans(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anomalies.scan

    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, daily_count(END))
    roll_up_to(quiet_weeks, END + HOUR)
    watch = Watch.objects.get(project=quiet_weeks)
    taken_up: dict[str, tuple] = {}
    score = anomalies.scan.scan_watch

    def slow(scanned: Watch, *args: object) -> list:
        if not taken_up:  # still scoring past its lease: another worker scans the watch, a bucket later
            taken_up["cache"] = ()
            add_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR))
            roll_up_to(quiet_weeks, END + 2 * HOUR)
            scan_at(NOW + HOUR + CLAIM_LEASE + HOUR)
            taken_up["cache"] = stored_cache(watch.pk)
        return score(scanned, *args)

    monkeypatch.setattr(anomalies.scan, "scan_watch", slow)
    scan_at(NOW + HOUR)
    assert taken_up["cache"][0] == END + 2 * HOUR
    # The slow batch stores nothing over it: the newer cache and its carry (continued by the next scan).
    assert stored_cache(watch.pk) == taken_up["cache"]


def test_a_catch_up_explains_its_episode_once_as_it_stands_at_the_end(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anomalies.scan

    sync_watches(NOW)
    scan_at(NOW)
    for hours in range(3):  # the scans stopped for three hours of a surge (an outage, workers killed)
        add_hour(quiet_weeks, END + hours * HOUR, 80, tags='{"plan": "pro"}')
    roll_up_to(quiet_weeks, END + 3 * HOUR)
    explained: list[tuple[datetime, datetime]] = []
    explain = anomalies.scan.explain

    def counted(anomaly: Anomaly) -> dict:
        explained.append((anomaly.started_at, anomaly.last_anomalous_at))
        return explain(anomaly)

    monkeypatch.setattr(anomalies.scan, "explain", counted)
    changes = scan_at(NOW + 3 * HOUR)
    assert changes[0] == ("opened", "spike", "open") and len(changes) == 3
    # Each explanation reads the episode's raw tags and three earlier weeks of them: only the last one stays.
    assert explained == [(END, END + 2 * HOUR)]
    anomaly = Anomaly.objects.get(project=quiet_weeks)
    assert anomaly.explanation["contributors"][0]["value"] == "pro"


def test_a_batch_slower_than_its_lease_leaves_the_next_workers_lease_as_it_is(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anomalies.scan

    five_minutes = timedelta(minutes=5)
    started = END + five_minutes + timedelta(seconds=18)  # the scan of [10:00, 10:05)
    watch = make_watch(
        project, history=np.zeros(10).tobytes(), history_end=END, interval_seconds=300, next_scan_at=started,
        last_scanned_at=END,  # (its interval was chosen this hour)
    )  # fmt: skip
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": started})
    taken_up_at = started + CLAIM_LEASE + timedelta(minutes=1)  # 10:11:18
    taken_up: list[list[int]] = []
    score = anomalies.scan.scan_watch

    def slow(scanned: Watch, *args: object) -> list:
        if not taken_up:  # still scoring past its lease: another worker claims the watch and scans it
            taken_up.append(claim([watch.pk], taken_up_at))
        return score(scanned, *args)

    monkeypatch.setattr(anomalies.scan, "scan_watch", slow)
    scan([watch.pk], started)
    assert taken_up == [[watch.pk]]
    # Released by the slow batch, it was due at 10:10:18, already past: a third worker took it while the
    # second still scanned it.
    assert Watch.objects.get(pk=watch.pk).next_scan_at == taken_up_at + CLAIM_LEASE
