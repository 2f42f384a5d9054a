"""Busy series are scored on five-minute buckets and scanned every five minutes, so a spike is seen
minutes after it starts; sparse ones stay hourly. Time here is the test's own clock (the scan takes
`now`), rollups are real."""

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

import anomalies.scan
from anomalies import early, services
from anomalies.cadence import FAST, HOURLY, RETRY_AFTER, next_due, promote_young
from anomalies.models import Anomaly, Watch
from anomalies.rollup_trigger import ROLLUP_OFFSET
from anomalies.scan import cached_values, claim, due_watch_ids, scan
from anomalies.services import Verdict
from anomalies.tests.concurrency import Worker
from anomalies.tests.factories import make_watch, open_anomaly
from anomalies.tests.scoping import unscoped_reads
from anomalies.watches import sync_watches
from events.models import RollupWatermark
from events.rollups import STREAM, rebuild_event_rollups
from flux.tenants.models import Project
from metrics.tests.factories import make_series

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
END = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
NOW = END + 2 * MINUTE


def add_events(project: Project, name: str, start: datetime, end: datetime, every: timedelta, tags: str = "{}") -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO events_event (project_id, time, received_at, name, tags)
               SELECT %s, t, now(), %s, %s::jsonb FROM generate_series(%s, %s, %s) AS t WHERE t < %s""",
            [project.pk, name, tags, start, end, every, end],
        )


def set_watermark(at: datetime) -> None:
    RollupWatermark.objects.filter(stream=STREAM).update(watermark=at)


@pytest.fixture
def busy_and_sparse(project: Project) -> Project:
    """Nine days of page views (120 an hour, two a minute) and of signups (6 an hour)."""
    start = END - timedelta(days=9)
    add_events(project, "page.viewed", start, END + timedelta(hours=1), 30 * timedelta(seconds=1))
    add_events(project, "user.signup", start, END + timedelta(hours=1), 10 * MINUTE)
    return project


def roll_up(project: Project, complete_until: datetime) -> None:
    # Rows count as received at their transaction's start, all alike in a test: recompute the project's
    # buckets from everything received until now.
    RollupWatermark.objects.update_or_create(stream=STREAM, defaults={"watermark": datetime.now(UTC)})
    rebuild_event_rollups(project.pk)
    set_watermark(complete_until)


def test_a_busy_series_is_scanned_every_five_minutes_and_a_sparse_one_hourly(busy_and_sparse: Project) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy = Watch.objects.get(name="page.viewed")
    sparse = Watch.objects.get(name="user.signup")
    # Due as the rollup run that completes its bucket [10:00, 10:05) starts, ROLLUP_OFFSET after it ends.
    assert (busy.interval_seconds, busy.next_scan_at) == (FAST, END + 5 * MINUTE + timedelta(seconds=ROLLUP_OFFSET))
    assert (sparse.interval_seconds, sparse.next_scan_at) == (HOURLY, END + timedelta(hours=1, minutes=2))
    assert busy.history_end == END and list(cached_values(busy)[-3:]) == [10.0, 10.0, 10.0]
    assert len(cached_values(busy)) == 8 * 288 + 48  # eight days of five-minute buckets, and a margin

    later = END + 6 * MINUTE  # the bucket [10:00, 10:05) has ended: only the busy series is due
    assert due_watch_ids(later, 100) == [busy.pk]
    # Its rollups are not complete yet (the watermark is still at 10:01): again in 15 seconds, not a minute.
    assert scan([busy.pk], later).waiting == [busy.pk]
    assert Watch.objects.get(pk=busy.pk).next_scan_at == later + timedelta(seconds=15)
    set_watermark(END + 5 * MINUTE + 55 * timedelta(seconds=1))
    assert scan(due_watch_ids(later + MINUTE, 100), later + MINUTE).scanned == 1
    busy.refresh_from_db()
    offset = timedelta(seconds=ROLLUP_OFFSET)
    assert (busy.history_end, busy.next_scan_at) == (END + 5 * MINUTE, END + 10 * MINUTE + offset)


def test_a_new_series_busy_since_it_began_is_scanned_every_five_minutes(project: Project) -> None:
    """Three hours old at 120 an hour: its day's count over 24 hours read as 15 an hour, a sparse series
    scanned hourly, so nothing saw it stop for up to an hour."""
    add_events(project, "api.request", END - 3 * HOUR, END + HOUR, 30 * timedelta(seconds=1))
    # A nightly job's two busy hours a day is no new series: its day, over 24 hours, is 5 an hour.
    add_events(project, "job.step", END - 26 * HOUR, END - 24 * HOUR, MINUTE)
    add_events(project, "job.step", END - 2 * HOUR, END, MINUTE)
    roll_up(project, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    assert Watch.objects.get(name="api.request").interval_seconds == FAST
    assert Watch.objects.get(name="job.step").interval_seconds == HOURLY


def test_a_new_series_first_scanned_minutes_into_its_life_switches_to_five_minutes_once_busy(project: Project) -> None:
    """Nine minutes old at its first scan, 18 events read as 17 an hour: hourly, and its minute checks and
    five-minute scans waited for the next hour. Once its volume says busy it is due at once, on five-minute
    buckets; a sparse young series stays hourly."""
    start = END - 8 * MINUTE
    add_events(project, "api.request", start, END + MINUTE, 30 * timedelta(seconds=1))
    add_events(project, "user.signup", start, END + MINUTE, 5 * MINUTE)
    roll_up(project, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy, sparse = Watch.objects.get(name="api.request"), Watch.objects.get(name="user.signup")
    assert (busy.interval_seconds, sparse.interval_seconds) == (HOURLY, HOURLY)
    assert promote_young(NOW + MINUTE) == []

    later = END + 20 * MINUTE
    add_events(project, "api.request", END + MINUTE, later, 30 * timedelta(seconds=1))
    add_events(project, "user.signup", END + MINUTE, later, 5 * MINUTE)
    roll_up(project, later)
    assert promote_young(later) == [busy.pk]
    busy.refresh_from_db()
    assert (busy.interval_seconds, busy.next_scan_at, busy.history_end) == (FAST, later, None)
    assert Watch.objects.get(pk=sparse.pk).interval_seconds == HOURLY
    assert due_watch_ids(later, 100) == [busy.pk]
    scan([busy.pk], later)
    busy.refresh_from_db()
    assert busy.interval_seconds == FAST and busy.history_end is not None and busy.next_scan_at > later


def test_a_watch_first_scanned_before_its_backfill_reached_the_last_day_switches_once_it_has(project: Project) -> None:
    """A client backfills a week, oldest first, at 120 an hour; the first scan saw two hours of the last day."""
    add_events(project, "order.placed", END - timedelta(days=7), END - 22 * HOUR, 30 * timedelta(seconds=1))
    roll_up(project, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    watch = Watch.objects.get(name="order.placed")
    assert watch.interval_seconds == HOURLY
    add_events(project, "order.placed", END - 22 * HOUR, END + MINUTE, 30 * timedelta(seconds=1))
    roll_up(project, END + MINUTE)
    assert promote_young(NOW + 5 * MINUTE) == [watch.pk]


def test_a_young_watch_in_an_episode_or_claimed_by_a_scan_keeps_its_interval(project: Project) -> None:
    add_events(project, "api.request", END - 8 * MINUTE, END + MINUTE, 30 * timedelta(seconds=1))
    add_events(project, "api.error", END - 8 * MINUTE, END + MINUTE, 30 * timedelta(seconds=1))
    roll_up(project, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    in_episode, claimed = Watch.objects.get(name="api.request"), Watch.objects.get(name="api.error")
    open_anomaly(in_episode, END - HOUR)
    later = END + 20 * MINUTE
    add_events(project, "api.request", END + MINUTE, later, 30 * timedelta(seconds=1))
    add_events(project, "api.error", END + MINUTE, later, 30 * timedelta(seconds=1))
    roll_up(project, later)
    Watch.objects.filter(pk=claimed.pk).update(next_scan_at=later)
    assert claim([claimed.pk], later) == [claimed.pk]
    assert promote_young(later) == []
    assert set(Watch.objects.values_list("interval_seconds", flat=True)) == {HOURLY}


def test_a_watch_made_before_its_first_rollup_is_looked_at_again_within_minutes(busy_and_sparse: Project) -> None:
    """A metric's watch is made from its raw points; scanned before their first rollup it found nothing, and
    its next look came an hour later. A watch that had data once and stopped stays hourly."""
    roll_up(busy_and_sparse, END + MINUTE)
    fresh = make_watch(busy_and_sparse, name="queue.depth", series=make_series(busy_and_sparse), measure="avg")
    stopped = make_watch(busy_and_sparse, name="queue.depth", series=make_series(busy_and_sparse, host="b"),
                         measure="avg", last_scanned_at=END - HOUR)  # fmt: skip
    scan([fresh.pk, stopped.pk], NOW)
    fresh.refresh_from_db()
    stopped.refresh_from_db()
    slot = END + 5 * MINUTE + timedelta(seconds=ROLLUP_OFFSET)
    assert (fresh.next_scan_at, fresh.last_scanned_at, fresh.interval_seconds) == (slot, None, HOURLY)
    assert (stopped.next_scan_at, stopped.last_scanned_at) == (END + timedelta(hours=1, minutes=2), NOW)


def test_a_spike_in_a_busy_series_opens_an_anomaly_minutes_after_it_starts(busy_and_sparse: Project) -> None:
    spike_start = END + 12 * MINUTE
    add_events(busy_and_sparse, "page.viewed", spike_start, spike_start + 10 * MINUTE, timedelta(seconds=3),
               tags='{"campaign": "flash"}')  # fmt: skip
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    opened_at = None
    now = NOW
    while opened_at is None and now < END + timedelta(minutes=40):
        now += MINUTE
        set_watermark(now - timedelta(seconds=5))  # the rollups run every minute, five seconds behind
        result = scan(due_watch_ids(now, 100), now)
        if any(change == "opened" for changes in result.changes.values() for change, _ in changes):
            opened_at = now
    anomaly = Anomaly.objects.get(watch__name="page.viewed")
    assert (anomaly.kind, anomaly.interval_seconds, anomaly.started_at) == ("spike", FAST, END + 10 * MINUTE)
    assert opened_at - spike_start <= timedelta(minutes=10)
    assert anomaly.explanation["contributors"][0]["value"] == "flash"


def test_due_times_follow_the_interval() -> None:
    moment = datetime(2026, 11, 18, 10, 7, 30, tzinfo=UTC)
    assert next_due(moment, timedelta(seconds=FAST)) == datetime(2026, 11, 18, 10, 10, ROLLUP_OFFSET, tzinfo=UTC)
    assert next_due(moment, timedelta(seconds=HOURLY)) == datetime(2026, 11, 18, 11, 2, tzinfo=UTC)


def test_a_surge_opens_from_the_bucket_in_progress_before_the_bucket_is_complete(busy_and_sparse: Project) -> None:
    spike_start = END + 12 * MINUTE  # in the bucket [10:10, 10:15): 20 more page views a minute
    add_events(busy_and_sparse, "page.viewed", spike_start, spike_start + 10 * MINUTE, timedelta(seconds=3))
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy, sparse = Watch.objects.get(name="page.viewed"), Watch.objects.get(name="user.signup")
    assert busy.peek_above is not None and sparse.peek_above is None  # hourly series are not peeked at
    changes, now = [], NOW
    while now < END + 20 * MINUTE:
        now += MINUTE
        set_watermark(now - timedelta(seconds=5))
        scan(due_watch_ids(now, 100), now)
        result = early.open_early(early.peek_candidates(now), now)
        changes += [(now, change) for items in result.changes.values() for change, _ in items]
    # At 10:15 the minutes 10:10-10:14 are rolled up: 48 page views where 10 are usual in the whole
    # bucket. The complete bucket is scanned at 10:16 and carries on with the same episode.
    assert changes == [(END + 15 * MINUTE, "opened")]
    anomaly = Anomaly.objects.get(watch=busy)
    assert (anomaly.kind, anomaly.direction, anomaly.started_at) == ("spike", "up", END + 10 * MINUTE)
    assert anomaly.actual == 70  # the complete bucket's count (10 as usual, 60 more), from its scan


def test_a_bucket_in_progress_is_not_peeked_at_while_late_rows_make_the_history_stale(busy_and_sparse: Project) -> None:
    """A backfill still being rolled up when the first scan read the history: scored on it, a normal
    bucket in progress opened a spike where 0 were expected."""
    spike_start = END + 12 * MINUTE
    add_events(busy_and_sparse, "page.viewed", spike_start, spike_start + 10 * MINUTE, timedelta(seconds=3))
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy, now = Watch.objects.get(name="page.viewed"), NOW
    while now < END + 15 * MINUTE:
        now += MINUTE
        set_watermark(now - timedelta(seconds=5))
        scan(due_watch_ids(now, 100), now)
    Watch.objects.filter(pk=busy.pk).update(stale_from=END - timedelta(days=1))  # late rows marked it
    assert early.peek_candidates(now) == []
    last_bucket = Watch.objects.get(pk=busy.pk).history_end - 5 * MINUTE  # a client's buffer a little late
    Watch.objects.filter(pk=busy.pk).update(stale_from=last_bucket)
    assert early.peek_candidates(now) == [busy.pk]
    Watch.objects.filter(pk=busy.pk).update(stale_from=None)
    assert early.peek_candidates(now) == [busy.pk]


def test_a_bucket_in_progress_below_its_peek_threshold_is_not_scored(busy_and_sparse: Project) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    set_watermark(END + 4 * MINUTE)
    assert early.peek_candidates(END + 4 * MINUTE) == []  # two page views a minute, as always


def scanned_before_a_surge(project: Project) -> None:
    """Page views every 3 s from 10:05 on, scanned up to the bucket [10:00, 10:05): the surge is not yet scanned."""
    add_events(project, "page.viewed", END + 5 * MINUTE, END + 9 * MINUTE, timedelta(seconds=3))
    roll_up(project, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    set_watermark(END + 6 * MINUTE)
    scan(due_watch_ids(END + 6 * MINUTE, 100), END + 6 * MINUTE)


def test_one_bad_series_never_stops_the_early_scan_of_the_others(
    busy_and_sparse: Project, caplog: pytest.LogCaptureFixture
) -> None:
    scanned_before_a_surge(busy_and_sparse)
    busy = Watch.objects.get(name="page.viewed")
    bad = make_watch(busy_and_sparse, name="page.viewed", measure="p99", interval_seconds=FAST,
                     history_end=busy.history_end, peek_above=0.0)  # fmt: skip
    set_watermark(END + 9 * MINUTE)
    result = early.open_early([bad.pk, busy.pk], END + 9 * MINUTE)
    assert result.failed == [bad.pk] and f"watch {bad.pk}" in caplog.text
    assert [change for change, _ in result.changes[busy_and_sparse.pk]] == ["opened"]


def test_an_early_open_reads_its_projects_watches_and_anomalies_only(busy_and_sparse: Project) -> None:
    scanned_before_a_surge(busy_and_sparse)
    set_watermark(END + 9 * MINUTE)
    with CaptureQueriesContext(connection) as queries:
        result = early.open_early(early.peek_candidates(END + 9 * MINUTE), END + 9 * MINUTE)
    assert [change for change, _ in result.changes[busy_and_sparse.pk]] == ["opened"]
    assert unscoped_reads(queries) == []


@pytest.mark.django_db(transaction=True)
def test_an_early_open_leaves_an_episode_the_minute_checks_opened_meanwhile_as_it_is(
    busy_and_sparse: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An early open reads which watches have an episode, then scores the others: the minute checks (run
    at the same time after each rollup run) may open one in between, which is theirs to carry on."""
    scanned_before_a_surge(busy_and_sparse)
    later = END + 9 * MINUTE
    set_watermark(later)
    scored, goes_on, verdict_of = threading.Event(), threading.Event(), early.verdict_at

    def pausing_once_scored(*args: object) -> Verdict:
        scored.set()
        goes_on.wait(30)
        return verdict_of(*args)

    monkeypatch.setattr(early, "verdict_at", pausing_once_scored)
    opens = Worker(lambda: early.open_early(early.peek_candidates(later), later))
    opens.start()
    assert scored.wait(30)
    by_minutes = Verdict(
        END + 8 * MINUTE, 60, True, 0.8, "warning", "spike", "up", 44.0, 8.0, None, None, END + 5 * MINUTE
    )
    _, opened = services.apply_verdict(Watch.objects.get(name="page.viewed"), by_minutes, later)
    goes_on.set()
    assert not any(opens.outcome().changes.values())
    kept = Anomaly.objects.get()
    assert (kept.pk, kept.interval_seconds, kept.actual, kept.expected) == (opened.pk, 60, 44.0, 8.0)


def test_a_scan_that_waits_for_its_bucket_keeps_the_early_peek_and_minute_baseline(busy_and_sparse: Project) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    before = Watch.objects.get(name="page.viewed")
    assert before.peek_above is not None and before.minute_rate is not None
    later = END + 6 * MINUTE  # the bucket [10:00, 10:05) has ended, its rollups are not complete yet
    assert scan([before.pk], later).waiting == [before.pk]
    after = Watch.objects.get(pk=before.pk)
    # Still the latest expectation: the bucket in progress can still open early while the scan waits.
    assert (after.peek_above, after.minute_rate) == (before.peek_above, before.minute_rate)


def stored_scan_state(watch_id: int) -> tuple:
    fields = ("history_end", "history", "carry", "fitted", "peek_above", "minute_rate", "next_scan_at")
    row = Watch.objects.values_list(*fields).get(pk=watch_id)
    return tuple(bytes(value) if isinstance(value, memoryview) else value for value in row)


def test_a_waiting_watch_scanned_by_its_retry_while_its_batch_still_runs_keeps_what_the_retry_stored(
    busy_and_sparse: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy = Watch.objects.get(name="page.viewed")
    later = END + 6 * MINUTE  # the bucket [10:00, 10:05) has ended, its rollups are not complete yet
    retry: dict[str, tuple] = {}
    score = anomalies.scan.scan_watch

    def retried_meanwhile(watch: Watch, *args: object) -> list:
        if not retry:  # the batch is still scoring when its waiting watch's retry comes, RETRY_AFTER later
            set_watermark(END + 5 * MINUTE + 20 * timedelta(seconds=1))  # the bucket's rollups are complete
            retry["scanned"] = (scan([busy.pk], later + RETRY_AFTER).scanned,)
            retry["stored"] = stored_scan_state(busy.pk)
        return score(watch, *args)

    monkeypatch.setattr(anomalies.scan, "scan_watch", retried_meanwhile)
    assert scan([busy.pk], later).waiting == [busy.pk]
    assert retry["scanned"] == (1,) and retry["stored"][0] == END + 5 * MINUTE
    # The batch that waited scored nothing of the watch: it must not write back what it had read over what
    # its retry stored (the carry of the bucket before, the early-peek threshold and minute rate before).
    assert stored_scan_state(busy.pk) == retry["stored"]


def test_a_watch_switched_to_five_minutes_stays_its_batchs_until_the_batch_ends(
    busy_and_sparse: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    busy = Watch.objects.get(name="page.viewed")
    first_due = next_due(NOW, timedelta(seconds=FAST))  # 10:05:18, under three minutes after this scan starts
    taken_meanwhile: list[list[int]] = []
    score = anomalies.scan.scan_watch

    def another_worker_at_the_first_due_time(watch: Watch, *args: object) -> list:
        if watch.pk == busy.pk and not taken_meanwhile:  # the batch reads eight days of minutes: it may be slow
            taken_meanwhile.append(claim([busy.pk], first_due))
        return score(watch, *args)

    monkeypatch.setattr(anomalies.scan, "scan_watch", another_worker_at_the_first_due_time)
    scan(due_watch_ids(NOW, 100), NOW)
    assert Watch.objects.get(pk=busy.pk).interval_seconds == FAST
    assert taken_meanwhile == [[]]  # still under its batch's lease: no second first scan
    assert Watch.objects.get(pk=busy.pk).next_scan_at == first_due  # due at its new interval once released


def add_uneven_events(project: Project, name: str, start: datetime, end: datetime) -> None:
    """An event every 20 seconds, about a third of them left out by a fixed hash of their time: counts that
    vary from bucket to bucket, the same on every run."""
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO events_event (project_id, time, received_at, name, tags)
               SELECT %s, t, now(), %s, '{}'::jsonb FROM generate_series(%s, %s, interval '20 seconds') AS t
               WHERE t < %s AND (extract(epoch FROM t)::bigint / 20 * 2654435761) %% 97 < 64""",
            [project.pk, name, start, end, end],
        )


def test_a_five_minute_anomaly_is_shown_on_five_minute_buckets_scored_as_the_scan_scored_them(
    project: Project, api: type, keys: dict
) -> None:
    # Sixteen days of uneven counts: more than the five-minute scans keep (eight days), so a bucket scored on
    # all of them, rather than on the scan's window, would differ.
    add_uneven_events(project, "page.viewed", END - timedelta(days=16), END + timedelta(hours=1))
    spike_start = END + 12 * MINUTE
    add_events(project, "page.viewed", spike_start, spike_start + 10 * MINUTE, timedelta(seconds=3))
    roll_up(project, END + MINUTE)
    sync_watches(NOW)
    now = NOW
    while now < END + timedelta(minutes=45):
        now += MINUTE
        set_watermark(now - timedelta(seconds=5))
        scan(due_watch_ids(now, 100), now)
    anomaly = Anomaly.objects.get(watch__name="page.viewed")
    assert anomaly.interval_seconds == FAST and anomaly.last_anomalous_at > anomaly.started_at

    detail = api(keys["read"]).get(f"/api/v1/anomalies/{anomaly.pk}").json()
    times = [datetime.fromisoformat(point["time"]) for point in detail["context"]]
    assert {later - earlier for earlier, later in itertools.pairwise(times)} == {5 * MINUTE}
    assert times[0] == anomaly.started_at - timedelta(hours=3) and anomaly.started_at in times
    context = {time: point for time, point in zip(times, detail["context"], strict=True)}
    last = context[anomaly.last_anomalous_at]
    assert last["is_anomaly"] and context[anomaly.started_at]["is_anomaly"]
    episode = [point for time, point in context.items() if anomaly.started_at <= time <= anomaly.last_anomalous_at]
    peak = max(reversed(episode), key=lambda point: point["score"])  # the stored values are its peak bucket's
    assert peak["score"] == pytest.approx(anomaly.score, abs=1e-4)
    assert (peak["value"], peak["expected"], peak["lower"], peak["upper"]) == pytest.approx(
        (anomaly.actual, anomaly.expected, anomaly.lower, anomaly.upper), rel=1e-6
    )
    assert (last["value"], last["expected"]) != (peak["value"], peak["expected"])  # (a later, weaker bucket)


def test_an_hourly_anomaly_keeps_its_hourly_context_once_its_series_is_scanned_every_five_minutes(
    busy_and_sparse: Project, api: type, keys: dict
) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    anomaly = open_anomaly(make_watch(busy_and_sparse, "page.viewed", interval_seconds=FAST), END - 5 * HOUR)
    detail = api(keys["read"]).get(f"/api/v1/anomalies/{anomaly.pk}").json()
    times = [datetime.fromisoformat(point["time"]) for point in detail["context"]]
    assert {later - earlier for earlier, later in itertools.pairwise(times)} == {HOUR}
    assert times[0] == anomaly.started_at - timedelta(days=2)


def test_a_counters_bucket_in_progress_is_counted_from_its_projects_minute_rollups(project: Project) -> None:
    """The metric side of the early peek: the complete minutes of the watch's bucket in progress, summed from
    the series' minute rollups (joined on the project too, so a distributed database keeps the join local)."""
    from metrics.models import MetricRollup
    from metrics.tests.factories import make_series

    series = make_series(project, "jobs.done", "counter")
    bucket = END + 10 * MINUTE
    watch = make_watch(project, "jobs.done", series=series, interval_seconds=FAST, history_end=bucket, peek_above=1.0)
    for minute, count in enumerate([4, 6, 5]):  # two complete minutes, and one after the last complete one
        at = bucket + minute * MINUTE
        MetricRollup.objects.create(
            project_id=project.pk, series_id=series.pk, level="minute", bucket=at, count=count, sum=count,
            min=1, max=1, last=1, last_time=at,
        )  # fmt: skip
    counted = {watch.pk: early.PartialCount(project.pk, 10.0)}
    assert early.partial_counts({Watch.Source.METRIC: bucket + 2 * MINUTE}) == counted
    assert early.partial_counts({Watch.Source.METRIC: bucket + 2 * MINUTE}, [watch.pk]) == counted
