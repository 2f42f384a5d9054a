"""The scan's cache of each watch's series (`history`, packed float64, ending at `history_end`): brought
up to the last complete bucket before scoring, re-reading the last few buckets and any that a rollup run
recomputed since (anomalies.late_data), and saved in one UPDATE per batch."""

import functools
import logging
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from anomalies import cadence, carry
from anomalies.detection import DetectorConfig, history_needed
from anomalies.detection.localtime import zone_or_utc
from anomalies.history import NO_HOURS, Hours, floor_step, measure_of, read_hours
from anomalies.models import Watch

logger = logging.getLogger(__name__)

# Buckets already cached that are read again, for data that arrived a little late. Rollup runs mark
# (anomalies.late_data) only buckets before the last UNMARKED_BUCKETS of a cache, one fewer: rows for a
# scan's oldest re-read bucket committed after its read are not marked (the cache still ends where it did),
# and the cache it stores ends a bucket later; the next scan reads them again from one bucket further back.
REREAD_BUCKETS = 3
UNMARKED_BUCKETS = REREAD_BUCKETS - 1
MAX_CATCH_UP = 24  # after a long outage, score at most this many missed buckets one by one
EPISODE_LOOKBACK = 48  # scored points before the new ones, to find where an ongoing episode began


@functools.cache
def buckets_needed(value_kind: str, interval_seconds: int, timezone: str = "UTC") -> int:
    config = DetectorConfig(interval_seconds, value_kind, timezone=timezone)  # type: ignore[arg-type]
    return math.ceil(history_needed(config) / interval_seconds)


def buckets_kept(watch: Watch) -> int:
    """How many buckets of the watch's series the cache keeps: what the detector needs (in its project's
    zone; five-minute series: cadence.fast_history_days at most), and a margin to look back on episodes."""
    needed = buckets_needed(measure_of(watch)[0], watch.interval_seconds, zone_or_utc(watch.project.timezone))
    if watch.interval_seconds < cadence.HOURLY:
        needed = min(needed, cadence.fast_history_days() * 86400 // watch.interval_seconds)
    return needed + EPISODE_LOOKBACK


def cached_values(watch: Watch) -> np.ndarray:
    return np.frombuffer(bytes(watch.history or b""), dtype="<f8")


@dataclass(frozen=True)
class Refresh:
    start: datetime  # read the rollups from here
    rebuild: bool  # replace the whole cache (else keep the cached buckets before `start`)
    new_points: int  # buckets to score


def plan_refresh(watch: Watch, end: datetime, step: timedelta) -> Refresh:
    oldest = end - step * buckets_kept(watch)
    if watch.history_end is None or watch.history_end < oldest:
        return Refresh(oldest, True, 1)  # first scan, or the cache is too old to extend: score the last bucket
    new_points = min(max(int((end - watch.history_end) / step), 0), MAX_CATCH_UP)
    start = min(watch.history_end, end) - step * REREAD_BUCKETS
    if watch.stale_from is not None:
        # Buckets already scanned that late data changed are judged again (the last MAX_CATCH_UP at most):
        # a surge that reached the rollups after its bucket was scanned still opens an episode.
        changed = int((end - floor_step(watch.stale_from, step)) / step)
        new_points = max(new_points, min(changed, MAX_CATCH_UP))
        cache_start = watch.history_end - step * len(cached_values(watch))
        if watch.stale_from < cache_start and cache_start > oldest:
            return Refresh(oldest, True, new_points)  # data before the cached series began: it starts earlier
        start = min(start, max(floor_step(watch.stale_from, step), cache_start))
    return Refresh(start, False, new_points)


def refresh_histories(watches: list[Watch], end: datetime, step: timedelta) -> dict[int, int]:
    """Bring each watch's cached values up to `end` (re-reading the last few buckets, and from any
    bucket a rollup run recomputed since), save the changed ones, and say per watch how many are new."""
    new_points, changed = read_histories(watches, end, step)
    save_histories(changed)
    return new_points


def read_histories(watches: list[Watch], end: datetime, step: timedelta) -> tuple[dict[int, int], list[Watch]]:
    """refresh_histories without the save: how many buckets are new per watch, and the watches to save.
    The scan saves them once their new buckets are scored, so that a worker killed meanwhile leaves the
    watch to be scored again from where it was."""
    plans: dict[int, Refresh] = {}
    by_kind: dict[str, list[Watch]] = defaultdict(list)
    for watch in watches:
        try:
            plans[watch.pk] = plan = plan_refresh(watch, end, step)
        except Exception:
            logger.exception("planning the history of watch %s failed; skipped", watch.pk)
            continue
        by_kind["rebuild" if plan.rebuild else "stale" if watch.stale_from else "steady"].append(watch)
    changed = []
    for group in by_kind.values():
        values = read_hours(group, min(plans[watch.pk].start for watch in group), end, step)
        for watch in group:
            before = (bytes(watch.history or b""), watch.history_end)
            try:
                merge_history(watch, plans[watch.pk], end, step, values.get(watch.pk, NO_HOURS))
            except Exception:
                logger.exception("reading the history of watch %s failed; skipped", watch.pk)
                del plans[watch.pk]
                continue
            if (watch.history, watch.history_end) != before or watch.stale_from is not None:
                changed.append(watch)
    return {pk: plan.new_points for pk, plan in plans.items()}, changed


def save_histories(watches: list[Watch], read_ends: dict[int, datetime | None] | None = None) -> None:
    """Store the caches; a watch's stale mark is cleared unless a rollup run marked it again since it was
    read (whatever the bucket: a later one leaves stale_from as it was, its rows still unread). A cache
    that moved on by more than a bucket (a scan catching up) is marked from its last UNMARKED_BUCKETS as
    they were: rows committed for them while the scan read and scored were not marked (rollup runs saw the
    old end) and the next scan re-reads from REREAD_BUCKETS before the new end only. (Not a first scan nor
    a rebuilt cache: they judge their last bucket only, and a mark would judge the day before again.) A
    carry and fits that merge_history dropped are cleared (the others stay as stored: writing them is the
    scan's, once scored). With `read_ends` (each watch's history_end when it was read), a cache that another
    scan stored since is left as it is: a batch slower than its lease (anomalies.scan.CLAIM_LEASE) must not
    store its older one over the next scan's."""
    if not watches:
        return
    histories, history_from, history_length = carry.blob([bytes(w.history or b"") for w in watches])
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE anomalies_watch w
            SET history = substring(%(histories)s::bytea FROM v.history_from FOR v.history_length),
                history_end = v.history_end,
                carry = CASE WHEN v.dropped THEN ''::bytea ELSE w.carry END,
                fitted = CASE WHEN v.dropped THEN ''::bytea ELSE w.fitted END,
                stale_from = LEAST(
                    CASE WHEN w.stale_marks = v.stale_marks THEN NULL ELSE w.stale_from END,
                    CASE WHEN v.history_end - w.history_end > w.interval_seconds * %(covered)s * interval '1 second'
                              AND w.history_end > v.cache_start
                         THEN GREATEST(v.cache_start, (w.history_end AT TIME ZONE 'UTC'
                              - w.interval_seconds * %(unmarked)s * interval '1 second') AT TIME ZONE 'UTC') END)
            FROM unnest(%(ids)s::bigint[], %(history_from)s::int[], %(history_length)s::int[],
                        %(ends)s::timestamptz[], %(starts)s::timestamptz[], %(stale)s::int[], %(dropped)s::boolean[],
                        %(read_ends)s::timestamptz[])
                 AS v(id, history_from, history_length, history_end, cache_start, stale_marks, dropped, read_end)
            WHERE w.id = v.id AND (NOT %(checked)s OR w.history_end IS NOT DISTINCT FROM v.read_end)
            """,
            {"ids": [w.pk for w in watches], "histories": histories, "history_from": history_from,
             "checked": read_ends is not None, "read_ends": [(read_ends or {}).get(w.pk) for w in watches],
             "history_length": history_length, "ends": [w.history_end for w in watches],
             "starts": [w.history_end - timedelta(seconds=w.interval_seconds) * len(cached_values(w)) for w in watches],
             "stale": [w.stale_marks for w in watches], "dropped": [not bytes(w.carry or b"") for w in watches],
             "covered": REREAD_BUCKETS - UNMARKED_BUCKETS, "unmarked": UNMARKED_BUCKETS},
        )  # fmt: skip
    for watch in watches:
        watch.stale_from = None


def merge_history(watch: Watch, plan: Refresh, end: datetime, step: timedelta, buckets: Hours) -> None:
    """Cached buckets before the plan's start stay; from there to `end` the values read (missing filled)."""
    _, missing = measure_of(watch)
    cached = cached_values(watch)
    if plan.rebuild or not len(cached):
        kept, first = cached[:0], plan.start
        if not math.isnan(missing):
            # A count (or rate) before the series' first bucket of data is unknown, not zero: leading zeros
            # would read as a dead stream coming to life. Start the history at its first bucket instead.
            first = max(plan.start, buckets.first() or end)
    else:
        cache_start = watch.history_end - step * len(cached)
        keep = min(max(int((plan.start - cache_start) / step), 0), len(cached))
        kept, first = cached[:keep], cache_start + step * keep
    fresh = buckets.on_grid(first, end, missing, step)
    history = np.concatenate([kept, fresh])[-buckets_kept(watch) :]
    if watch.history_end is not None and carry.history_rewritten(cached, watch.history_end, history, end, step):
        watch.carry = watch.fitted = b""  # computed from values that have changed since
    watch.history, watch.history_end = history.tobytes(), end
