"""How finely each watched series is scored: busy series on five-minute buckets (read from the minute
rollups, scanned every five minutes, so an anomaly is seen minutes after it starts), sparse ones by
the hour. The choice is stored on the watch (`interval_seconds`) and revisited once an hour.

A series is busy when, over the last day, it had at least 30 events an hour (event counts, a
distribution's count) or a point every five minutes (other metric measures). Five-minute buckets of a
sparser series hold a few events each and would judge mostly Poisson noise. Percentiles and distinct
counts stay hourly: their five-minute values would need a sketch merged per bucket.
"""

import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

from anomalies.history import FIVE_MINUTES, HOUR, SIMPLE_MEASURES
from anomalies.models import Anomaly, Watch
from anomalies.rollup_trigger import ROLLUP_OFFSET
from flux.query.db import fetch_all

HOURLY, FAST = int(HOUR.total_seconds()), int(FIVE_MINUTES.total_seconds())
BUSY_EVENTS_PER_HOUR = 30.0
BUSY_POINTS_PER_HOUR = 12.0  # a point every five minutes
# A busy series goes back to hourly only below this share of the threshold, so one that hovers around
# it does not switch (and reload its history) every hour.
STAY_FAST_SHARE = 2 / 3
VOLUME_WINDOW = timedelta(days=1)
# Five-minute history kept per watch: daily seasonality (a week of lags) and a first weekly lag. The
# detector's full history (weeks at five minutes) would cost ~30 KB per series to cache and rescore.
FAST_HISTORY_DAYS = 8
MIN_FAST_HISTORY_DAYS = 2  # minute rollups kept shorter than this: every series stays hourly
# From the end of a bucket to its first scan. Beat starts the rollup runs ROLLUP_OFFSET seconds into each
# minute, and each run queues the due scans of its source once committed (anomalies.rollup_trigger): the
# run starting as a five-minute bucket ends completes it, and its scans follow at once. Hourly scans keep
# a wider margin and wait for beat's dispatch at the top of a minute. A scan that finds its bucket not
# complete yet (a late or slow rollup run) tries again RETRY_AFTER later by itself (not at the next
# dispatch, a minute later), for up to RETRY_WINDOW (then the rollups are stalled, and the watch waits
# for its next bucket, catching up on the missed ones).
SCAN_DELAY = {FAST: timedelta(seconds=ROLLUP_OFFSET), HOURLY: timedelta(minutes=2)}
RETRY_AFTER = timedelta(seconds=15)
# How long a watch claimed by a scan batch (anomalies.scan.claim) is its worker's: far more than a batch takes
# (seconds), so no other worker scans it meanwhile; after it, a watch whose batch never finished (its worker
# killed) is due again.
CLAIM_LEASE = timedelta(minutes=5)
RETRY_WINDOW = timedelta(minutes=5)


def next_due(now: datetime, step: timedelta) -> datetime:
    """The first scan after the bucket of `step` that `now` falls in is complete."""
    epoch = now.timestamp()
    delay = SCAN_DELAY.get(int(step.total_seconds()), SCAN_DELAY[HOURLY])
    return datetime.fromtimestamp(epoch - epoch % step.total_seconds(), tz=now.tzinfo) + step + delay


def retry_soon(watches: list[Watch], new_points: dict[int, int], now: datetime) -> list[int]:
    """Watches whose next bucket was not complete yet (the rollup run that completes it still going) are
    due again RETRY_AFTER later instead of a whole interval later; returns their ids."""
    waiting = [
        w.pk for w in watches
        if new_points.get(w.pk) == 0 and w.history_end and now - w.history_end <= step_of(w) + RETRY_WINDOW
    ]  # fmt: skip
    if waiting:
        Watch.objects.filter(pk__in=waiting).update(next_scan_at=now + RETRY_AFTER)
    return waiting


def fast_history_days() -> int:
    """Days of five-minute history, bounded by how long minute rollups are kept (0: as long as raw data)."""
    kept = settings.FLUX_ROLLUP_RETENTION_DAYS.get("minute", 0)
    return FAST_HISTORY_DAYS if kept <= 0 else min(FAST_HISTORY_DAYS, kept)


def can_be_fast(watch: Watch) -> bool:
    return watch.source == Watch.Source.EVENTS or watch.measure in SIMPLE_MEASURES


def step_of(watch: Watch) -> timedelta:
    return timedelta(seconds=watch.interval_seconds)


def due_revisit(watch: Watch, now: datetime) -> bool:
    """A watch never scanned, or first scanned in a new hour."""
    last = watch.last_scanned_at
    return last is None or math.floor(last.timestamp() / 3600) < math.floor(now.timestamp() / 3600)


def hourly_volumes(watches: list[Watch], now: datetime) -> dict[int, float]:
    """{watch id: events (or metric points) an hour over the last day, or, for a series younger than that (no
    data in the day before), over the hours since its first data: three hours old at 120 an hour, it is busy,
    not 15 an hour}; watches without data are absent."""
    since = now - VOLUME_WINDOW

    def per_hour(total: float | None, first: datetime) -> float:
        return float(total or 0) / max((now - max(first, since)) / HOUR, 1.0)

    volumes: dict[int, float] = {}
    events = {(w.project_id, w.name): w.pk for w in watches if w.source == Watch.Source.EVENTS}
    if events:
        rows = fetch_all(
            """
            SELECT r.project_id, r.name, sum(r.count) FILTER (WHERE r.bucket >= %s), min(r.bucket)
            FROM unnest(%s::bigint[], %s::text[]) AS w(project_id, name)
            JOIN events_eventrollup r ON r.project_id = w.project_id AND r.name = w.name
            WHERE r.level = 'hour' AND r.bucket >= %s AND r.bucket < %s
            GROUP BY 1, 2
            """,
            [since, [key[0] for key in events], [key[1] for key in events], since - VOLUME_WINDOW, now],
        )
        volumes |= {events[project_id, name]: per_hour(total, first) for project_id, name, total, first in rows}
    series: dict[int, list[int]] = {}
    for watch in watches:
        if watch.source == Watch.Source.METRIC:
            series.setdefault(watch.series_id, []).append(watch.pk)
    if series:
        rows = fetch_all(
            """SELECT series_id, sum(count) FILTER (WHERE bucket >= %s), min(bucket) FROM metrics_metricrollup
               WHERE level = 'hour' AND project_id = ANY(%s) AND series_id = ANY(%s) AND bucket >= %s AND bucket < %s
               GROUP BY 1""",
            [since, sorted({w.project_id for w in watches}), list(series), since - VOLUME_WINDOW, now],
        )
        volumes |= {pk: per_hour(total, first) for series_id, total, first in rows for pk in series[series_id]}
    return volumes


def chosen_interval(watch: Watch, volume: float) -> int:
    if not can_be_fast(watch) or fast_history_days() < MIN_FAST_HISTORY_DAYS:
        return HOURLY
    counted = watch.source == Watch.Source.EVENTS or watch.measure == "count"
    busy = BUSY_EVENTS_PER_HOUR if counted else BUSY_POINTS_PER_HOUR
    threshold = busy * STAY_FAST_SHARE if watch.interval_seconds == FAST else busy
    return FAST if volume >= threshold else HOURLY


def revisit_intervals(watches: list[Watch], now: datetime, unresolved: set[int]) -> list[Watch]:
    """Set each watch's interval from its recent volume; returns those that changed. A watch in the
    middle of an episode keeps its interval until the episode resolves (its buckets are the episode's).
    A changed watch drops its cached history (the next scan reads it at the new interval). Its next due time
    stays its batch's lease: the batch's release sets it by the new interval (setting it here, minutes away
    at five minutes, let another worker scan the watch again while its batch still read its first history)."""
    candidates = [w for w in watches if w.pk not in unresolved and due_revisit(w, now)]
    if not candidates:
        return []
    volumes = hourly_volumes(candidates, now)
    changed = []
    for watch in candidates:
        interval = chosen_interval(watch, volumes.get(watch.pk, 0.0))
        if interval != watch.interval_seconds:
            watch.interval_seconds, watch.history, watch.history_end = interval, b"", None
            watch.carry, watch.fitted, watch.peek_above, watch.minute_rate = b"", b"", None, None
            changed.append(watch)
    if changed:
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE anomalies_watch w SET interval_seconds = v.interval, history = ''::bytea,
                       history_end = NULL, stale_from = NULL, carry = ''::bytea,
                       fitted = ''::bytea, peek_above = NULL, minute_rate = NULL
                FROM unnest(%s::bigint[], %s::int[]) AS v(id, interval)
                WHERE w.id = v.id
                """,
                [[w.pk for w in changed], [w.interval_seconds for w in changed]],
            )  # fmt: skip
    return changed


def promote_young(now: datetime) -> list[int]:
    """Watches made within the last day and scanned hourly, whose volume now makes them busy, switch to five
    minutes at once and are due now, instead of at their next hourly scan: a series first scanned a few minutes
    into its life, or while its backfill had not reached the last day yet, read as sparse and left up to an
    hour unwatched by the minute checks. Returns their ids.

    Only watches not due within a claim's lease are touched (a claimed watch's due time is its lease's end, at
    most CLAIM_LEASE away): their batch would store an hourly history over the switch. Each update also
    checks the due time it read, so a watch claimed meanwhile keeps its batch's."""
    young = Watch.objects.filter(
        interval_seconds=HOURLY, excluded=False, last_scanned_at__isnull=False,
        created_at__gte=now - VOLUME_WINDOW, next_scan_at__gt=now + CLAIM_LEASE,
    )  # fmt: skip
    fields = ("id", "project_id", "source", "name", "series_id", "measure", "interval_seconds", "next_scan_at")
    young = [watch for watch in young.only(*fields) if can_be_fast(watch)]
    if not young:
        return []
    unresolved = Anomaly.objects.filter(watch__in=young).exclude(status=Anomaly.Status.RESOLVED)
    in_episode = set(unresolved.values_list("watch_id", flat=True))
    young = [watch for watch in young if watch.pk not in in_episode]
    volumes = hourly_volumes(young, now)
    busy = [watch for watch in young if chosen_interval(watch, volumes.get(watch.pk, 0.0)) == FAST]
    if not busy:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE anomalies_watch w SET interval_seconds = %s, history = ''::bytea, history_end = NULL,
                   stale_from = NULL, carry = ''::bytea, fitted = ''::bytea, peek_above = NULL,
                   minute_rate = NULL, next_scan_at = %s
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, seen)
            WHERE w.id = v.id AND w.interval_seconds = %s AND w.next_scan_at = v.seen
            RETURNING w.id
            """,
            [FAST, now, [w.pk for w in busy], [w.next_scan_at for w in busy], HOURLY],
        )
        return sorted(row[0] for row in cursor.fetchall())
