from celery import shared_task
from django.utils import timezone

from events.rollups import roll_up_events


@shared_task
def roll_up() -> int:
    """Bring event rollups up to date; returns the minute buckets recomputed."""
    return roll_up_events(timezone.now()).minutes
