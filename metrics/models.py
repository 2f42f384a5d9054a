import hashlib

from django.contrib.postgres.fields import ArrayField
from django.db import models

from events.models import RollupLevel
from flux.payloads.fields import tags_json
from flux.storage.project_keyed import ProjectKeyedModel
from flux.tenants.models import Project


class MetricType(models.TextChoices):
    GAUGE = "gauge"
    COUNTER = "counter"
    DISTRIBUTION = "distribution"
    SET = "set"


def tags_fingerprint(tags: dict[str, str]) -> str:
    """A stable 32-hex digest of a tag set, whatever order its keys came in."""
    return fingerprint_of_canonical(tags_json(tags))


def fingerprint_of_canonical(canonical_tags_json: str) -> str:
    return hashlib.md5(canonical_tags_json.encode("utf-8"), usedforsecurity=False).hexdigest()


class Metric(models.Model):
    """A metric name within a project; a name keeps the type it was first seen with.

    Part of the catalogue: few rows per project, written once per name, so on a distributed database it
    is a reference table (copied to every node) and keeps its plain `id` key (docs/storage.md, "Keys").
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=12, choices=MetricType.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="one_metric_per_project_and_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class MetricSeries(ProjectKeyedModel):
    """One metric + tag set. Raw points reference it by id so the points table stays narrow.

    The database key is (project_id, id), not Django's `id` alone, so the table can be distributed by
    project (migration 0005; docs/storage.md, "Keys"). Django relations still need one pk column, so
    `id` stays the model's pk; an index on `id` alone serves lookups that do not know the project.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="metric_series")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="series")
    tags = models.JSONField(default=dict)
    tags_hash = models.CharField(max_length=32)
    first_seen_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "metric series"
        constraints = [
            # The upsert target of series creation at ingest.
            models.UniqueConstraint(
                fields=["project", "metric", "tags_hash"], name="one_series_per_project_metric_and_tags"
            )
        ]
        indexes = [
            models.Index(fields=["project", "last_seen_at"], name="series_project_last_seen"),
            models.Index(fields=["id"], name="series_id_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.metric.name} {self.tags}"


class MetricRollup(models.Model):
    """Points of one series in one UTC minute, hour or day.

    Every row keeps count, sum, min, max and the last value with its time (gauges read last/avg/min/max,
    counters sum and rate); distributions add a quantile sketch (`sketch_keys`/`sketch_counts`), sets
    the distinct members (`member_hashes`, exact while few) or their HyperLogLog (`member_registers`);
    see flux.query.sketches. Maintained by `metrics.rollups.roll_up_metrics`.
    """

    # The upsert target of the rollup job and the index queries read by; the project leads, so that the
    # table can be distributed by project.
    pk = models.CompositePrimaryKey("project_id", "series_id", "level", "bucket")
    # Plain ids like the raw points table: a deleted project's rollups are purged in batches, not cascaded.
    project_id = models.BigIntegerField()
    series_id = models.BigIntegerField()
    level = models.CharField(max_length=6, choices=RollupLevel.choices)
    bucket = models.DateTimeField()
    count = models.BigIntegerField()
    sum = models.FloatField()
    min = models.FloatField()
    max = models.FloatField()
    last = models.FloatField()
    last_time = models.DateTimeField()
    sketch_keys = ArrayField(models.IntegerField(), null=True)
    sketch_counts = ArrayField(models.BigIntegerField(), null=True)
    member_hashes = ArrayField(models.BigIntegerField(), null=True)
    member_registers = models.BinaryField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["level", "bucket"], name="metric_rollup_level_bucket"),  # retention
            # The anomaly scan reads watched series by id alone (anomalies.history, anomalies.cadence).
            models.Index(fields=["series_id", "level", "bucket"], name="metric_rollup_series"),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id} {self.level} {self.bucket:%Y-%m-%d %H:%M}: {self.count}"


class CardinalityLimitHit(models.Model):
    """A metric whose tag key (or, with an empty key, whose series count) passed its cardinality limit, so
    that new values were folded into `__other__` (metrics.cardinality); shown on the overview and the
    metric's page."""

    # The upsert target of metrics.cardinality.record_hits; project first, the distribution column.
    pk = models.CompositePrimaryKey("project", "metric", "tag_key")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cardinality_limit_hits")
    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="cardinality_limit_hits")
    tag_key = models.CharField(max_length=100, blank=True)
    folded_points = models.BigIntegerField(default=0)
    last_folded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project", "last_folded_at"], name="limit_hit_project_last")]

    def __str__(self) -> str:
        return f"{self.metric.name} {self.tag_key or '(series)'}: {self.folded_points}"
