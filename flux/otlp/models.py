from django.db import models


class CumulativeState(models.Model):
    """The last value an OTLP exporter reported for one cumulative series, so the next report becomes an
    increment. `stream` is a digest of everything that identifies the exporter's stream (metric name, all
    resource and scope attributes, the point's attributes), not of the stored tags: two processes whose
    tags are equal after the allow-list still count separately. Rows not updated for
    FLUX_IDEMPOTENCY_DAYS are deleted by beat.
    """

    # Also the upsert's ON CONFLICT target; project first, the distribution column.
    pk = models.CompositePrimaryKey("project_id", "stream")
    project_id = models.BigIntegerField()
    stream = models.CharField(max_length=32)
    start_unix_nano = models.BigIntegerField()
    state = models.JSONField()  # {"value": v} for sums; bucket counts for histograms (flux.otlp.histograms)
    updated_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["updated_at"], name="otlp_state_updated_at")]

    def __str__(self) -> str:
        return f"stream {self.stream} (project {self.project_id})"
