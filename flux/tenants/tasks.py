from celery import shared_task
from django.utils import timezone

from flux.tenants import services


@shared_task
def revoke_unused_provisioned_keys() -> int:
    """Revoke provisioned keys never used within FLUX_PROVISIONED_KEY_UNUSED_DAYS."""
    return services.revoke_unused_provisioned_keys(timezone.now())
