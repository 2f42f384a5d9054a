"""`manage.py seed_demo`: demo data for both apps, rolled up and counted as received, like ingested data."""

import contextlib
import random
import time
from collections.abc import Iterable, Iterator
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from events.rollups import roll_up_events
from events.seeding import LiveDemo, recent_rates, seed, seed_incident, send_live
from flux.ingestion import outcomes
from flux.query.rollup_job import SAFETY_LAG
from flux.storage import maintenance
from flux.tenants.models import Project
from flux.web import realtime
from metrics.rollups import roll_up_metrics


class Command(BaseCommand):
    help = "Fill a project with realistic events and metric points over the last days, then roll them up."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--project", default="demo", help="project slug (default: demo)")
        parser.add_argument("--events", type=int, default=100_000)
        parser.add_argument("--points", type=int, default=100_000, help="metric points")
        parser.add_argument("--days", type=int, default=30)
        parser.add_argument("--seed", type=int, default=1, help="random seed, for repeatable data")
        parser.add_argument(
            "--no-incident", action="store_true", help="leave out the signup surge of the last hour (an anomaly)"
        )
        parser.add_argument(
            "--live", action="store_true",
            help="then keep sending the same traffic, as it happens, until stopped (Ctrl-C): without it the "
                 "seeded series stop now, and the anomaly detector sees them stop within the hour; on a project "
                 "with data in the last week, nothing is seeded and its traffic goes on at that week's rate",
        )  # fmt: skip

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"no project with slug {options['project']!r} (see create_project)")
        if options["days"] < 1 or options["days"] > project.retention_days:
            raise CommandError(f"--days must be between 1 and the project's retention ({project.retention_days})")
        now = timezone.now()
        existing = recent_rates(project, now) if options["live"] else None
        if existing is not None:  # seeded before (the README's first command): continue it, do not seed again
            self.stdout.write(
                f"{project.slug} has data already: continuing its last week's traffic ({existing[0]:,.0f} events "
                f"and {existing[1]:,.0f} points a day) every {LIVE_TICK_SECONDS} s; Ctrl-C stops."
            )
            with contextlib.suppress(KeyboardInterrupt):
                stream_live(project, random.Random(options["seed"]), now, live_clock(), *existing)  # noqa: S311
            return
        # The old days get their partitions first, so the rows go straight there.
        maintenance.ensure_all_partitions(now, days_back=options["days"] + 1)
        started = time.monotonic()
        report = seed(project, options["events"], options["points"], options["days"], now, options["seed"])
        surge = 0 if options["no_incident"] else seed_incident(project, now, options["seed"])
        seeded = time.monotonic()
        outcomes.mark_received(project.pk)  # the overview's "last data received" counts the demo data
        with connection.cursor() as cursor:
            # Fresh statistics after a bulk load, so the planner picks the right indexes at once.
            cursor.execute("ANALYZE events_rawevent, events_eventname, events_eventtagset, metrics_point")
        # The load has committed: a regular run takes it (waiting for one the worker may have under way).
        # Up to the real now: a small load commits within the rollups' safety lag, which would leave it out.
        rollup = roll_up_events(timezone.now() + SAFETY_LAG, wait=True)
        metric_rollup = roll_up_metrics(timezone.now() + SAFETY_LAG, wait=True)
        rows, minutes = report.events + report.points, rollup.minutes + metric_rollup.minutes
        self.stdout.write(
            f"Seeded {report.events:,} events and {report.points:,} points ({report.series} series) into "
            f"{project.slug} over {options['days']} days in {seeded - started:.1f} s "
            f"({rows / max(seeded - started, 1e-9):,.0f} rows/s); rolled up {minutes:,} minute buckets "
            f"in {time.monotonic() - seeded:.1f} s."
        )
        if surge:
            self.stdout.write(f"Added a signup surge of {surge:,} events in the last complete hour (an anomaly).")
        if not options["live"]:
            self.stdout.write(
                "The seeded traffic ends now: within the hour the anomaly detector sees its series stop (flatlines "
                "and drops). Run with --live to keep it flowing."
            )
            return
        per_day = (options["events"] / options["days"], options["points"] / options["days"])
        self.stdout.write(f"Sending live traffic into {project.slug} every {LIVE_TICK_SECONDS} s; Ctrl-C stops.")
        with contextlib.suppress(KeyboardInterrupt):
            stream_live(project, random.Random(options["seed"]), now, live_clock(), *per_day)  # noqa: S311 (demo data)


LIVE_TICK_SECONDS = 5


def live_clock() -> Iterator[datetime]:
    """The time at each tick, LIVE_TICK_SECONDS apart, for ever."""
    while True:
        time.sleep(LIVE_TICK_SECONDS)
        yield timezone.now()


def stream_live(
    project: Project, rng: random.Random, start: datetime, ticks: Iterable[datetime], events_per_day: float,
    points_per_day: float,
) -> int:  # fmt: skip
    """The demo's traffic from `start` to each tick in turn, announced to open pages as ingestion does;
    returns the rows sent."""
    sent, demo = 0, LiveDemo.of(project, events_per_day)
    for tick in ticks:
        batch = send_live(demo, rng, start, tick, events_per_day, points_per_day)
        outcomes.mark_received(project.pk)
        realtime.data_arrived(project.pk, batch.names, batch.metrics)
        sent, start = sent + batch.events + batch.points, tick
    return sent
