"""Storage benchmark for metric points: bytes per raw point, heap and every index, and what the raw
queries that read points cost with them.

    python bench/point_storage.py --points 500000     # with DATABASE_URL set: whatever that server is

Creates a scratch database (--database, dropped at the end) and sends `--points` points through Flux's
own ingestion (flux.ingestion.services.ingest, batches of `--batch`, in time order as live traffic
arrives): bench/ingest.py's points (three metrics, three tags, 27 series each), plus `--series` more
series of one gauge so that a project has many. Then VACUUM ANALYZE, and it prints the bytes per point
of the heap and of each index, summed over every partition, and the median time of the raw reads
(the raw edge of a chart of one metric, of every metric of the project, and one series' last hour).
Nothing here asserts.
"""

import argparse
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import make_points  # noqa: E402
from bench.storage import drop_database, sizes, use_fresh_database  # noqa: E402

# The raw reads of metrics.queries / metrics.rollup_queries, reduced to their access path.
QUERIES = {
    "one metric, last 10 min": """
        SELECT count(*), sum(p.value) FROM metrics_point p
        JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
        WHERE s.metric_id = %(metric)s AND p.project_id = %(project)s AND p.time >= %(since)s""",
    "whole project, last 10 min": """
        SELECT s.metric_id, count(*) FROM metrics_point p
        JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
        WHERE p.project_id = %(project)s AND p.time >= %(since)s GROUP BY 1""",
    "one series, last hour": """
        SELECT count(*), max(p.value) FROM metrics_point p
        WHERE p.project_id = %(project)s AND p.series_id = %(series)s AND p.time >= %(hour)s""",
}


def ingest_points(project: object, count: int, batch: int, extra_series: int) -> None:
    """`count` points through Flux's ingestion, stamped over the last hours in arrival order."""
    from django.utils import timezone

    from flux.ingestion.services import ingest

    rng, now = random.Random(12), timezone.now()
    start = now - timedelta(hours=6)
    step = timedelta(hours=6) / count
    for first in range(0, count, batch):
        points = make_points(rng, min(batch, count - first), "")
        for offset, point in enumerate(points):
            point["timestamp"] = (start + step * (first + offset)).isoformat()
            if extra_series and offset % 4 == 0:
                point.update(type="gauge", name="host.load", tags={"host": f"h{rng.randrange(extra_series)}"})
        result = ingest(project, [], points)
        if result.rejected:
            raise SystemExit(f"rejected: {result.rejected[0]}")


def time_queries(project_id: int, rounds: int = 7) -> dict[str, float]:
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("SELECT max(time) FROM metrics_point WHERE project_id = %s", [project_id])
        latest = cursor.fetchone()[0] or timezone.now()
        cursor.execute("SELECT metric_id, id FROM metrics_metricseries WHERE project_id = %s LIMIT 1", [project_id])
        metric, series = cursor.fetchone()
        params = {"project": project_id, "metric": metric, "series": series,
                  "since": latest - timedelta(minutes=10), "hour": latest - timedelta(hours=1)}  # fmt: skip
        medians = {}
        for label, sql in QUERIES.items():
            seconds = []
            for _ in range(rounds):
                started = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                seconds.append(time.perf_counter() - started)
            medians[label] = statistics.median(seconds)
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=500_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--series", type=int, default=2000, help="extra series of one gauge (host.load)")
    parser.add_argument("--database", default="flux_pointstoragebench")
    parser.add_argument(
        "--without",
        action="append",
        default=[],
        metavar="SUFFIX",
        help="drop the index metrics_point_SUFFIX first, to measure what it costs and serves",
    )
    args = parser.parse_args()
    use_fresh_database(args.database)
    from django.db import connection

    with connection.cursor() as cursor:
        for suffix in args.without:
            cursor.execute(f"DROP INDEX metrics_point_{suffix}")
            print(f"without metrics_point_{suffix}")

    from flux.tenants.services import create_project

    project = create_project("Point storage bench")
    started = time.perf_counter()
    ingest_points(project, args.points, args.batch, args.series)
    print(f"ingested {args.points:,} points in {time.perf_counter() - started:.0f} s")
    parts = sizes("metrics_point")
    total = sum(size for _, size in parts)
    for name, size in sorted(parts, key=lambda part: -part[1]):
        if size:
            print(f"  {name:<24} {size / args.points:7.1f} bytes/point")
    print(f"metrics_point total: {total / args.points:.1f} bytes/point ({total / 2**20:,.1f} MiB)")
    for label, seconds in time_queries(project.pk).items():
        print(f"  raw read, {label:<28} {seconds * 1000:8.2f} ms (median of 7)")
    drop_database(args.database)


if __name__ == "__main__":
    main()
