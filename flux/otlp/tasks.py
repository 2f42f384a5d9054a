from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from flux.otlp.cumulative import purge_stale_streams as purge


@shared_task
def purge_stale_streams() -> int:
    """Forget the last values of OTLP cumulative streams not reported for FLUX_IDEMPOTENCY_DAYS."""
    return purge(timezone.now() - timedelta(days=settings.FLUX_IDEMPOTENCY_DAYS))
