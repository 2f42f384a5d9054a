import hashlib

from django.db import models

from flux.ingestion.fields import tags_json
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
    """A metric name within a project; a name keeps the type it was first seen with."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=12, choices=MetricType.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="one_metric_per_project_and_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class MetricSeries(models.Model):
    """One metric + tag set. Raw points reference it by id so the points table stays narrow."""

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
            models.UniqueConstraint(fields=["metric", "tags_hash"], name="one_series_per_metric_and_tags")
        ]
        indexes = [models.Index(fields=["project", "last_seen_at"], name="series_project_last_seen")]

    def __str__(self) -> str:
        return f"{self.metric.name} {self.tags}"
