"""`manage.py seed_demo`: demo data for both apps, rolled up and counted as received, like ingested data."""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone

from events.rollups import roll_up_events
from events.seeding import seed, seed_incident
from flux.ingestion import outcomes
from flux.query.rollup_job import SAFETY_LAG
from flux.storage import maintenance
from flux.tenants.models import Project
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

    def handle(self, *args: object, **options: object) -> None:
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"no project with slug {options['project']!r} (see create_project)")
        if options["days"] < 1 or options["days"] > project.retention_days:
            raise CommandError(f"--days must be between 1 and the project's retention ({project.retention_days})")
        now = timezone.now()
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
