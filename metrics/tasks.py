from celery import shared_task

from flux.web import task_stats
from metrics.rollups import roll_up_metrics


@shared_task
def roll_up() -> int:
    """Merge newly received points into the rollups; returns the minute buckets touched (0 if skipped)."""
    run = roll_up_metrics()
    if run.skipped:
        task_stats.record(roll_up.name, "skipped")
    return run.minutes
