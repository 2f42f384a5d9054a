"""Celery entry points for storage upkeep; the work itself is in flux.storage.maintenance.

The tasks keep the names they had as `flux.tasks` (`name=`): beat schedules and queued messages use them."""

from celery import shared_task
from django.utils import timezone

from flux.storage import maintenance


@shared_task(name="flux.tasks.ensure_partitions")
def ensure_partitions() -> dict[str, list[str]]:
    """Create the coming days' partitions (native PostgreSQL only)."""
    created = maintenance.ensure_all_partitions(timezone.now())
    return {table: [str(day) for day in days] for table, days in created.items()}


@shared_task(name="flux.tasks.apply_retention")
def apply_retention() -> dict[str, int]:
    """Drop raw data past each project's retention; fails (after doing the rest) if any part failed."""
    report = maintenance.apply_retention(timezone.now())
    if report.failures:
        raise maintenance.RetentionIncompleteError(f"retention failed for {report.failures}")
    return report.trimmed_rows


@shared_task(name="flux.tasks.compress_chunks")
def compress_chunks() -> dict[str, int]:
    """Compress old chunks (TimescaleDB only)."""
    return maintenance.compress_chunks(timezone.now())


@shared_task(name="flux.tasks.purge_project_data")
def purge_project_data(project_id: int) -> dict[str, int]:
    """Remove a deleted project's raw events and points (they have no foreign key to cascade)."""
    return maintenance.purge_project(project_id)
