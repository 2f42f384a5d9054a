from celery import shared_task

from events.rollups import roll_up_events
from flux.web import task_stats


@shared_task
def roll_up() -> int:
    """Merge newly received events into the rollups; returns the minute buckets touched (0 if skipped)."""
    run = roll_up_events()
    if run.skipped:
        task_stats.record(roll_up.name, "skipped")
    return run.minutes
