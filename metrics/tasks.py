from celery import shared_task
from django.utils import timezone

from metrics.rollups import roll_up_metrics


@shared_task
def roll_up() -> int:
    """Bring metric rollups up to date; returns the minute buckets recomputed."""
    return roll_up_metrics(timezone.now()).minutes
