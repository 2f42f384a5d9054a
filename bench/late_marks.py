"""What a rollup run's late-data mark costs (anomalies.late_data), on `--series` event watches of one
project, against the mark as it was before it also covered scans in progress (the cache's end only).

    FLUX_SCANBENCH_DB=flux_marks python bench/late_marks.py --series 10000 --rounds 5

Each case fills `touched_minutes` with one minute per event name, as a rollup run does, runs the mark in a
transaction that is rolled back, and prints the median ms over the rounds (old and new statement
alternate within each round) and how many watches each one marked:
- live: rows for the minute in progress, the steady case (nothing is late);
- late, scanned: rows five hours old for watches cached up to now (both mark them all);
- late, never scanned: the same rows for watches with no cache yet (only the new statement marks them).
Nothing here asserts: it prints.
"""

import argparse
import statistics
import time
from datetime import UTC, datetime, timedelta

from scan_seed import use_bench_database

NOW = datetime(2026, 11, 30, 11, 30, tzinfo=UTC)
HOUR = timedelta(hours=1)
# The statement as it was (anomalies.late_data before the watermark bound): the cache's end only.
OLD_MARK = """
    UPDATE anomalies_watch w SET stale_from = LEAST(w.stale_from, t.first), stale_marks = w.stale_marks + 1
    FROM (SELECT project_id, name, min(bucket) AS first FROM touched_minutes GROUP BY 1, 2) t
    WHERE w.source = 'events' AND w.series_id IS NULL AND w.project_id = t.project_id AND w.name = t.name
      AND t.first AT TIME ZONE 'UTC'
          < w.history_end AT TIME ZONE 'UTC' - w.interval_seconds * %(unmarked)s * interval '1 second'
"""


def seed(series: int) -> int:
    from django.db import connection

    from flux.tenants.models import Project

    project = Project.objects.create(name="marks", slug="marks")
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO anomalies_watch (project_id, source, name, series_id, measure, sensitivity, excluded,
                   quiet_until_normal, history, carry, fitted, interval_seconds, next_scan_at, created_at)
               SELECT %(project)s, 'events', 'event.' || n, NULL, 'count', '', false, false, ''::bytea, ''::bytea,
                      ''::bytea, 3600, %(now)s, %(now)s
               FROM generate_series(1, %(series)s) AS n""",
            {"project": project.pk, "series": series, "now": NOW},
        )
        cursor.execute("ANALYZE anomalies_watch")
    return project.pk


def run_case(project: int, bucket: datetime, cached_until: datetime | None, rounds: int) -> dict[str, tuple]:
    from django.db import connection, transaction

    from anomalies.late_data import MARK_EVENT_WATCHES
    from anomalies.refresh import REREAD_BUCKETS, UNMARKED_BUCKETS

    params = {"unmarked": UNMARKED_BUCKETS, "reread": REREAD_BUCKETS, "watermark": NOW - timedelta(seconds=5)}
    spent: dict[str, list[float]] = {"old": [], "new": []}
    marked: dict[str, int] = {}
    for _ in range(rounds):
        for label, sql in (("old", OLD_MARK), ("new", MARK_EVENT_WATCHES)):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE anomalies_watch SET history_end = %s WHERE project_id = %s", [cached_until, project]
                )
                cursor.execute(
                    """CREATE TEMP TABLE touched_minutes ON COMMIT DROP AS
                       SELECT project_id, name, %s::timestamptz AS bucket FROM anomalies_watch WHERE project_id = %s""",
                    [bucket, project],
                )
                cursor.execute("ANALYZE touched_minutes")
                started = time.perf_counter()
                cursor.execute(sql, params)
                spent[label].append((time.perf_counter() - started) * 1000)
                marked[label] = cursor.rowcount
                transaction.set_rollback(True)
    return {label: (statistics.median(spent[label]), marked[label]) for label in spent}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    use_bench_database(fresh=True)
    project = seed(args.series)
    cases = {
        "live": (NOW, NOW - HOUR),
        "late, scanned": (NOW - 5 * HOUR, NOW - HOUR),
        "late, never scanned": (NOW - 5 * HOUR, None),
    }
    print(f"{args.series} watches, median of {args.rounds} rounds")
    print(f"{'case':<22}{'old ms':>9}{'new ms':>9}{'new/old':>9}{'old marks':>11}{'new marks':>11}")
    for name, (bucket, cached_until) in cases.items():
        found = run_case(project, bucket, cached_until, args.rounds)
        (old_ms, old_marks), (new_ms, new_marks) = found["old"], found["new"]
        print(f"{name:<22}{old_ms:>9.1f}{new_ms:>9.1f}{new_ms / old_ms:>9.2f}{old_marks:>11}{new_marks:>11}")


if __name__ == "__main__":
    main()
