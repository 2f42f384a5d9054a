"""Rollup runs mark the watches whose cached buckets they recomputed (late data, backfills), from the
run's own touched minutes: exactly from the earliest changed minute, and not for buckets a scan re-reads
anyway. Regular (incremental) rollup runs over rows received now, for buckets of the past."""

import threading
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import anomalies.refresh
from anomalies import carry
from anomalies.models import Anomaly, Watch
from anomalies.refresh import cached_values
from anomalies.scan import due_watch_ids, scan
from anomalies.tests.concurrency import Worker, backend_pid, wait_until_blocked_by
from anomalies.tests.factories import make_watch
from anomalies.tests.scoping import unscoped_reads
from anomalies.tests.test_scan import END, HOUR, NOW, daily_count, quiet_weeks, roll_up_hour, scan_at
from anomalies.watches import sync_watches
from events.models import RollupWatermark
from events.rollups import STREAM as EVENTS
from events.rollups import roll_up_events
from flux.tenants.models import Project
from metrics.rollups import STREAM as METRICS
from metrics.rollups import roll_up_metrics
from metrics.tests.factories import insert_point, make_series

CACHED_UNTIL = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
RECEIVED = CACHED_UNTIL + 3 * MINUTE  # the rows of the mark tests reach the rollups minutes after the cache's end
__all__ = ["quiet_weeks"]  # the fixture, used by name


def add_event(project: Project, name: str, time: datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO events_event (project_id, time, received_at, name, tags) VALUES (%s, %s, %s, %s, '{}')",
            [project.pk, time, RECEIVED, name],
        )


def run_rollups() -> None:
    """A regular run of each stream, as beat's every minute: it recomputes what was received since."""
    for stream in (EVENTS, METRICS):
        RollupWatermark.objects.update_or_create(stream=stream, defaults={"watermark": RECEIVED - MINUTE})
    roll_up_events(RECEIVED + MINUTE)
    roll_up_metrics(RECEIVED + MINUTE)


def test_a_late_event_marks_its_watch_from_its_minute_and_recent_ones_do_not(project: Project) -> None:
    late = make_watch(project, name="order.placed", history_end=CACHED_UNTIL)
    recent = make_watch(project, name="user.signup", history_end=CACHED_UNTIL)
    other = make_watch(project, name="page.viewed", history_end=CACHED_UNTIL)
    add_event(project, "order.placed", CACHED_UNTIL - timedelta(hours=5, minutes=-7, seconds=-30))
    add_event(project, "order.placed", CACHED_UNTIL - timedelta(minutes=20))
    add_event(project, "user.signup", CACHED_UNTIL - timedelta(minutes=90))  # re-read by the next scan anyway
    add_event(project, "page.viewed", CACHED_UNTIL + timedelta(minutes=2))  # the bucket in progress: not late
    run_rollups()
    for watch in (late, recent, other):
        watch.refresh_from_db()
    assert late.stale_from == CACHED_UNTIL - timedelta(hours=5, minutes=-7)
    assert (recent.stale_from, other.stale_from) == (None, None)

    add_event(project, "order.placed", CACHED_UNTIL - timedelta(hours=2, minutes=30))  # later than the mark
    run_rollups()
    late.refresh_from_db()
    assert late.stale_from == CACHED_UNTIL - timedelta(hours=5, minutes=-7)  # the earliest stays
    assert late.stale_marks == 2  # ...but the mark counts: a scan that read the watch before it keeps it


def test_a_late_metric_point_marks_its_series_watch(project: Project) -> None:
    series = make_series(project, "queue.depth", "gauge")
    watch = make_watch(project, name="queue.depth", series=series, measure="avg", history_end=CACHED_UNTIL)
    never_scanned = make_watch(project, name="queue.depth", series=make_series(project, "queue.depth", host="b"))
    insert_point(series, CACHED_UNTIL - timedelta(hours=3), 4.0, received_at=RECEIVED)
    insert_point(never_scanned.series, CACHED_UNTIL - timedelta(hours=3), 4.0, received_at=RECEIVED)
    recent = make_watch(project, name="queue.depth", series=make_series(project, "queue.depth", host="c"))
    insert_point(recent.series, CACHED_UNTIL - timedelta(hours=2), 4.0, received_at=RECEIVED)
    run_rollups()
    for each in (watch, never_scanned, recent):
        each.refresh_from_db()
    # A watch not scanned yet is marked too (its first scan may be reading the rollups right now), for
    # buckets more than three before the rollups' watermark (here 10:02): those its next scan re-reads do not.
    assert watch.stale_from == never_scanned.stale_from == CACHED_UNTIL - timedelta(hours=3)
    assert recent.stale_from is None


def test_a_surge_rolled_up_after_its_hour_was_scanned_opens_even_inside_the_buckets_read_again(
    quiet_weeks: Project,
) -> None:
    sync_watches(NOW)
    assert scan_at(NOW) == []  # the hour before END, judged normal
    # Its surge reaches the rollups minutes later (a client's buffer, a batch upload): a regular rollup run
    # merges it into that hour, one of the last few buckets the next scan reads again anyway.
    received = datetime.now(UTC) + HOUR
    roll_up_hour(quiet_weeks, END - HOUR, 200, received)
    roll_up_hour(quiet_weeks, END, daily_count(END), received + HOUR)  # the next hour, as usual
    assert scan_at(NOW + HOUR)[0] == ("opened", "spike", "open")
    anomaly = Anomaly.objects.get(project=quiet_weeks)
    # The hour re-read is not judged again: the episode opens on its tail in the next hour (14 signups, as
    # expected, score 0), with the verdict of its strongest hour (anomalies.scan.opening_verdict).
    assert (anomaly.started_at, anomaly.severity) == (END - HOUR, "critical") and anomaly.score >= 0.9


def test_a_bucket_judged_again_after_late_data_reads_its_projects_anomalies_only(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    received = datetime.now(UTC) + HOUR
    roll_up_hour(quiet_weeks, END - HOUR, 200, received)  # a surge rolled up after its hour was scanned
    roll_up_hour(quiet_weeks, END, daily_count(END), received + HOUR)
    due = due_watch_ids(NOW + HOUR, 100)  # (the dispatch reads the due watches of every project)
    with CaptureQueriesContext(connection) as queries:
        result = scan(due, NOW + HOUR)
    assert [change for change, _ in result.changes[quiet_weeks.pk]] == ["opened", "updated"]
    assert unscoped_reads(queries) == []


def test_late_rows_rolled_up_while_a_scan_reads_the_history_are_read_by_the_next_scan(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    received = datetime.now(UTC) + HOUR
    roll_up_hour(quiet_weeks, END - 10 * HOUR, 30, received)  # a backfill's first rows: the watch is marked
    roll_up_hour(quiet_weeks, END, daily_count(END), received + HOUR)
    # The backfill's next run commits now, for a later hour: the mark (the earlier hour) stays as it was.
    scan_while_rows_roll_up(
        monkeypatch,
        quiet_weeks,
        NOW + HOUR,
        hour=END - 5 * HOUR,
        received=received + 2 * HOUR,
        watermark=END + HOUR + MINUTE,
    )
    roll_up_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR), received + 3 * HOUR)
    scan_at(NOW + 2 * HOUR)
    watch = Watch.objects.get(project=quiet_weeks)
    values = cached_values(watch)
    assert values[len(values) - 7] == daily_count(END - 5 * HOUR) + 30  # END - 5 h, seven hours before END + 2 h


def test_late_rows_rolled_up_while_a_scan_reads_its_oldest_reread_hour_are_read_by_the_next_scan(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    received = datetime.now(UTC) + HOUR
    roll_up_hour(quiet_weeks, END, daily_count(END), received)
    # Rows for the oldest hour this scan reads again commit now: inside what it re-reads, so not marked,
    # but the next scan re-reads from an hour later.
    scan_while_rows_roll_up(
        monkeypatch,
        quiet_weeks,
        NOW + HOUR,
        hour=END - 2 * HOUR,
        received=received + HOUR,
        watermark=END + HOUR + MINUTE,
    )
    roll_up_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR), received + 2 * HOUR)
    scan_at(NOW + 2 * HOUR)
    values = cached_values(Watch.objects.get(project=quiet_weeks))
    assert values[len(values) - 4] == daily_count(END - 2 * HOUR) + 30  # END - 2 h, four hours before END + 2 h


def test_late_rows_rolled_up_while_a_watch_is_first_scanned_are_read_by_the_next_scan(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_watches(NOW)
    received = datetime.now(UTC) + HOUR
    # A backfill's run commits while the watch's first history is being read and scored: it has no
    # cached history yet to mark from. The run starts from the very watermark this scan read.
    scan_while_rows_roll_up(
        monkeypatch, quiet_weeks, NOW, hour=END - 10 * HOUR, received=END + 2 * MINUTE, watermark=END + MINUTE
    )
    roll_up_hour(quiet_weeks, END, daily_count(END), received + HOUR)
    scan_at(NOW + HOUR)
    values = cached_values(Watch.objects.get(project=quiet_weeks))
    assert values[len(values) - 11] == daily_count(END - 10 * HOUR) + 30  # END - 10 h, eleven hours before END + 1 h


def test_late_rows_rolled_up_while_a_scan_catches_up_several_hours_are_read_by_the_next_scan(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    received = datetime.now(UTC) + HOUR
    for hours in range(3):  # the scans stopped for three hours (an outage) while the rollups went on
        roll_up_hour(quiet_weeks, END + hours * HOUR, daily_count(END + hours * HOUR), received + hours * HOUR)
    # Rows for the hour before the cache's end commit now: inside what a one-hour scan re-reads, but
    # this scan stores a cache three hours longer. The run starts from the very watermark this scan read.
    scan_while_rows_roll_up(
        monkeypatch,
        quiet_weeks,
        NOW + 3 * HOUR,
        hour=END - HOUR,
        received=END + 3 * HOUR + 2 * MINUTE,
        watermark=END + 3 * HOUR + MINUTE,
    )
    roll_up_hour(quiet_weeks, END + 3 * HOUR, daily_count(END + 3 * HOUR), received + 4 * HOUR)
    scan_at(NOW + 4 * HOUR)
    values = cached_values(Watch.objects.get(project=quiet_weeks))
    assert values[len(values) - 5] == daily_count(END - HOUR) + 30  # END - 1 h, five hours before END + 4 h


def test_late_rows_rolled_up_while_a_catch_up_scan_reads_are_read_by_the_next_scan(
    quiet_weeks: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    received = datetime.now(UTC) + HOUR
    # The scan at NOW + HOUR did not happen (a worker killed, its lease then over; an outage): the next one
    # catches up two hours.
    roll_up_hour(quiet_weeks, END, daily_count(END), received)
    roll_up_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR), received + HOUR)
    # Rows for its oldest re-read hour commit now: inside the last two cached buckets, so not marked.
    scan_while_rows_roll_up(
        monkeypatch,
        quiet_weeks,
        NOW + 2 * HOUR,
        hour=END - 2 * HOUR,
        received=received + 2 * HOUR,
        watermark=END + 2 * HOUR + MINUTE,
    )
    assert Watch.objects.get(project=quiet_weeks).stale_from == END - 2 * HOUR  # the two it had last, as they were
    roll_up_hour(quiet_weeks, END + 2 * HOUR, daily_count(END + 2 * HOUR), received + 3 * HOUR)
    scan_at(NOW + 3 * HOUR)
    watch = Watch.objects.get(project=quiet_weeks)
    values = cached_values(watch)
    assert watch.history_end == END + 3 * HOUR
    assert values[len(values) - 5] == daily_count(END - 2 * HOUR) + 30  # END - 2 h, five hours before END + 3 h


def test_a_cache_rebuilt_after_a_long_gap_is_not_marked_by_its_scan(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    # Its cache ended long before the history the detector reads: rebuilt, and only its last bucket judged
    # (the day before stays unjudged: a mark would judge it at the next scan).
    Watch.objects.filter(project=quiet_weeks).update(history_end=END - 60 * 24 * HOUR, next_scan_at=NOW)
    roll_up_hour(quiet_weeks, END, daily_count(END), datetime.now(UTC) + HOUR)
    scan_at(NOW + HOUR)
    watch = Watch.objects.get(project=quiet_weeks)
    assert (watch.history_end, watch.stale_from) == (END + HOUR, None)


def scan_while_rows_roll_up(
    monkeypatch: pytest.MonkeyPatch,
    project: Project,
    moment: datetime,
    hour: datetime,
    received: datetime,
    watermark: datetime,
) -> None:
    """A scan at `moment` during which a rollup run commits 30 more events for `hour` (received at
    `received`, the watermark moved on to `watermark`): after the scan read the histories, before it saves."""
    read = anomalies.refresh.read_hours

    def read_then_more_rows_rolled_up(*args: object) -> dict:
        found = read(*args)
        roll_up_hour(project, hour, 30, received)
        RollupWatermark.objects.filter(stream=EVENTS).update(watermark=watermark)
        return found

    with monkeypatch.context() as patched:
        patched.setattr(anomalies.refresh, "read_hours", read_then_more_rows_rolled_up)
        scan_at(moment)


@pytest.mark.django_db(transaction=True)
def test_a_rollup_run_marking_watches_while_a_scan_stores_them_never_deadlocks(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The rollups stalled past the retry window: one watch has nothing new (scored, its history unchanged),
    # one catches up an hour (its history stored first). The run that resumes brings rows for an hour
    # both cached.
    quiet = np.zeros(10).tobytes()
    caught_up = make_watch(project, name="order.placed", history=quiet, history_end=CACHED_UNTIL)
    behind = make_watch(project, name="user.signup", history=quiet, history_end=CACHED_UNTIL - HOUR)
    RollupWatermark.objects.update_or_create(stream=EVENTS, defaults={"watermark": CACHED_UNTIL + 2 * MINUTE})
    for name in ("order.placed", "user.signup"):
        add_event(project, name, CACHED_UNTIL - 5 * HOUR)
    batch_stores, batch_goes_on, batch_session = threading.Event(), threading.Event(), []
    store_carries = carry.save

    def histories_stored_then_pause(*args: object) -> None:
        if threading.current_thread() is batch:
            batch_session.append(backend_pid())
            batch_stores.set()
            batch_goes_on.wait(30)
        store_carries(*args)

    monkeypatch.setattr(carry, "save", histories_stored_then_pause)
    batch = Worker(lambda: scan([caught_up.pk, behind.pk], CACHED_UNTIL + HOUR + 10 * MINUTE))
    batch.start()
    assert batch_stores.wait(30)
    run = Worker(lambda: roll_up_events(RECEIVED + MINUTE))
    run.start()
    wait_until_blocked_by(batch_session[0])  # the run's mark waits for the batch
    batch_goes_on.set()
    assert batch.outcome().scanned == 2
    run.outcome()
    marked = Watch.objects.filter(pk__in=[caught_up.pk, behind.pk]).order_by("pk")
    assert [(w.history_end, w.stale_from) for w in marked] == [
        (CACHED_UNTIL, CACHED_UNTIL - 5 * HOUR),
        (CACHED_UNTIL, CACHED_UNTIL - 5 * HOUR),
    ]
