"""Upkeep of anomaly data: the notification log is trimmed; anomalies themselves are small and kept."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection

# A delivery that told a channel of a still-unresolved anomaly is the record that the channel knows of
# it (anomalies.notifications): deleting it would make the next scan tell the channel again.
PURGE_DELIVERIES = """
    DELETE FROM anomalies_delivery d
    WHERE d.created_at < %s AND d.status <> 'pending'
      AND NOT EXISTS (
          SELECT 1 FROM anomalies_anomaly a
          WHERE a.project_id = d.project_id AND a.status <> 'resolved' AND d.anomaly_ids @> to_jsonb(a.id)
      )
"""


def purge_deliveries(now: datetime) -> int:
    """Delete deliveries older than FLUX_DELIVERY_LOG_DAYS (unless still needed); returns how many."""
    with connection.cursor() as cursor:
        cursor.execute(PURGE_DELIVERIES, [now - timedelta(days=settings.FLUX_DELIVERY_LOG_DAYS)])
        return cursor.rowcount
