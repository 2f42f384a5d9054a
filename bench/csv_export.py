"""CSV export benchmark: how fast GET /api/v1/events/export streams, and that memory stays flat.

    python -m flux.devservices exec -- python bench/csv_export.py --events 200000

Seeds a scratch project in the configured database (events.seeding, over the last day), then downloads
its events as CSV through Django's test client twice (the row limit raised to hold them all), reading
the streamed body chunk by chunk, and prints rows per second, the time to the first line and the growth
of the process's peak memory. Nothing here asserts: it prints.
"""

import argparse
import os
import resource
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")
os.environ.setdefault("DEBUG", "1")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    import django

    django.setup()
    from django.conf import settings
    from django.test import Client

    from events.seeding import seed
    from flux.tenants.models import Project
    from flux.tenants.services import create_project_with_keys, delete_project

    Project.objects.filter(slug="csvbench").delete()
    project, keys = create_project_with_keys("csvbench", slug="csvbench")
    try:
        started = time.perf_counter()
        seed(project, args.events, 0, 1, datetime.now(UTC))
        print(f"seeded {args.events:,} events in {time.perf_counter() - started:.1f} s")
        settings.FLUX_CSV_MAX_ROWS = args.events + 1
        client = Client(HTTP_AUTHORIZATION=f"Bearer {keys['read']}")
        for run in (1, 2):
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            started = time.perf_counter()
            response = client.get("/api/v1/events/export", {"period": "last_2d"})
            first_line, lines, size = None, 0, 0
            for chunk in response.streaming_content:
                if first_line is None:
                    first_line = time.perf_counter() - started
                lines += chunk.count(b"\n")
                size += len(chunk)
            elapsed = time.perf_counter() - started
            grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
            print(f"run {run}: {lines - 1:,} rows, {size / 1e6:.1f} MB in {elapsed:.2f} s "
                  f"({(lines - 1) / elapsed:,.0f} rows/s), first line after {first_line * 1000:.0f} ms, "
                  f"peak memory +{grown:.0f} MB")  # fmt: skip
    finally:
        delete_project(project)


if __name__ == "__main__":
    main()
