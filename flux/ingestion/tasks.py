from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from flux.ingestion import dedupe


@shared_task
def purge_seen_ids() -> int:
    """Forget client item ids older than FLUX_IDEMPOTENCY_DAYS."""
    return dedupe.purge_seen_ids(timezone.now() - timedelta(days=settings.FLUX_IDEMPOTENCY_DAYS))
