from django.db import models


class SeenItemId(models.Model):
    """Client-supplied item ids recently stored, so retries are acknowledged instead of stored twice.

    A separate, unpartitioned table: the raw tables cannot carry a unique index without their time
    column. Rows older than FLUX_IDEMPOTENCY_DAYS are deleted by beat.
    """

    class Kind(models.TextChoices):
        EVENT = "event"
        METRIC = "metric"

    # Also the claim's ON CONFLICT target; project first, the distribution column.
    pk = models.CompositePrimaryKey("project_id", "kind", "client_id")
    project_id = models.BigIntegerField()
    kind = models.CharField(max_length=6, choices=Kind.choices)
    client_id = models.CharField(max_length=200)
    seen_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["seen_at"], name="seen_item_id_seen_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.client_id} (project {self.project_id})"
