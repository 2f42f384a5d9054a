from django.db import models

from flux.storage.project_keyed import ProjectForeignKey, ProjectKeyedModel
from flux.tenants.models import Project
from metrics.models import MetricSeries


class Sensitivity(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class Severity(models.TextChoices):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class DetectionSettings(models.Model):
    """A project's anomaly detection settings; a project without a row uses the defaults."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="detection_settings")
    enabled = models.BooleanField(default=True)
    sensitivity = models.CharField(max_length=6, choices=Sensitivity.choices, default=Sensitivity.MEDIUM)

    class Meta:
        verbose_name_plural = "detection settings"

    def __str__(self) -> str:
        return f"{self.project}: {self.sensitivity}{'' if self.enabled else ' (off)'}"


class Watch(ProjectKeyedModel):
    """One series watched for anomalies: an event name's count, or a metric series' natural aggregate.

    Created automatically as data appears (anomalies.watches). `next_scan_at` is the due time a worker
    claims by conditional UPDATE, so two workers never scan one watch at once.

    Like the other per-series tables (anomalies, threshold rules, deliveries, metric series), its database
    key is (project_id, id) and its references to them carry project_id (migration 0006): the table can be
    distributed by project. Django relations need one pk column, so `id` stays the model's pk.
    """

    class Source(models.TextChoices):
        EVENTS = "events"
        METRIC = "metric"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="watches")
    source = models.CharField(max_length=6, choices=Source.choices)
    name = models.CharField(max_length=200)
    # The database constraint is the composite (project_id, series_id) one of migration 0006.
    series = ProjectForeignKey(MetricSeries, on_delete=models.CASCADE, null=True, blank=True, db_constraint=False)
    measure = models.CharField(max_length=12, help_text="count for events; the metric's aggregation")
    sensitivity = models.CharField(
        max_length=6, choices=Sensitivity.choices, blank=True, default="", help_text="Empty: the project's."
    )
    excluded = models.BooleanField(default=False, help_text="Never scanned.")
    muted_until = models.DateTimeField(null=True, blank=True, help_text="Scanned, but opens nothing until then.")
    # Set when a person resolves an episode the detector still sees: nothing reopens until it has ended.
    quiet_until_normal = models.BooleanField(default=False)
    next_scan_at = models.DateTimeField()
    # The series' values per interval up to history_end (exclusive), as much as the detector needs; each
    # scan adds the buckets completed since, so a scan reads a few rollup rows per series instead of weeks.
    # float64 values, little-endian, NaN for a bucket without data (read and written with numpy).
    history = models.BinaryField(default=bytes, blank=True)
    history_end = models.DateTimeField(null=True, blank=True)
    # The bucket the series is scored on: an hour, or five minutes for series busy enough to be judged
    # that finely (anomalies.cadence chooses, and the due time follows).
    interval_seconds = models.PositiveIntegerField(default=3600)
    # The earliest cached bucket that a rollup run recomputed after it was cached (late data, a backfill):
    # the next scan reads the history again from there (set by anomalies.late_data).
    stale_from = models.DateTimeField(null=True, blank=True)
    # Counts the marks: a scan clears stale_from only if no mark came in since it read the watch, as a later
    # bucket's mark leaves an earlier stale_from as it was (anomalies.refresh.save_histories).
    stale_marks = models.PositiveIntegerField(db_default=0)  # raw INSERTs (anomalies.watches) leave it out
    last_scanned_at = models.DateTimeField(null=True, blank=True)
    # The detector's per-point results of the last scored buckets (anomalies.detection.Carry, packed by
    # anomalies.carry), so that a scan scores only its new buckets; empty when the history changed since.
    carry = models.BinaryField(default=bytes, blank=True)
    # The detector's model fits of the latest two-hour block (anomalies.detection.FitCache, packed by
    # anomalies.carry): the scans within a block reuse them; empty when the history changed since.
    fitted = models.BinaryField(default=bytes, blank=True)
    # Busy count series with nothing open: the count at which the bucket in progress is worth scoring
    # before it is complete (anomalies.early); null when it is not peeked at.
    peek_above = models.FloatField(null=True, blank=True)
    # Busy count series: the expected events a minute of the bucket in progress and how much wider than
    # Poisson the series scatters (set by each scan), for the minute checks of silence and drops
    # (anomalies.minutes); null when the series is not checked by the minute.
    minute_rate = models.FloatField(null=True, blank=True)
    minute_dispersion = models.FloatField(null=True, blank=True)
    # ...and how uncertain that rate is (its relative variance, anomalies.detection.minute_rate), which the
    # checks pay for; 0 for a rate taken from the detector's expectation.
    minute_rate_variance = models.FloatField(null=True, blank=True)
    # The detector version (anomalies.detection.version) of the scan that set peek_above and the minute
    # baseline: the early opens and minute checks ignore those of another version (null: set before versions).
    baseline_version = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "source", "name", "measure"], condition=models.Q(series__isnull=True),
                name="one_event_watch",
            ),
            models.UniqueConstraint(fields=["project", "series", "measure"], name="one_series_watch_per_project"),
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["next_scan_at"], name="watch_due", condition=models.Q(excluded=False)),
            models.Index(fields=["id"], name="watch_id_lookup"),  # claims and lookups by id alone
        ]

    def __str__(self) -> str:
        tags = f" {self.series.tags}" if self.series_id else ""
        return f"{self.name}{tags} ({self.measure})"


class Anomaly(ProjectKeyedModel):
    """One episode: opened when a watch's series leaves its band, updated while it stays out, resolved
    when it has been back for a while (or by a person). At most one unresolved anomaly per watch."""

    class Kind(models.TextChoices):
        SPIKE = "spike"
        DROP = "drop"
        LEVEL_SHIFT = "level_shift"
        FLATLINE = "flatline"
        TREND_CHANGE = "trend_change"
        THRESHOLD = "threshold"  # a ThresholdRule's condition held, not a detector's finding

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="anomalies")
    watch = ProjectForeignKey(Watch, on_delete=models.CASCADE, related_name="anomalies", db_constraint=False)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    direction = models.CharField(max_length=4, choices=[("up", "up"), ("down", "down")])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    score = models.FloatField(help_text="The highest score of the episode, 0 to 1.")
    started_at = models.DateTimeField(help_text="The first anomalous bucket.")
    last_anomalous_at = models.DateTimeField(help_text="The latest anomalous bucket.")
    actual = models.FloatField(null=True)
    expected = models.FloatField(null=True)
    lower = models.FloatField(null=True)
    upper = models.FloatField(null=True)
    interval_seconds = models.PositiveIntegerField()
    explanation = models.JSONField(default=dict, blank=True)
    # Who: a username, or "API key flx_admin_ab12…" for actions over the API; kept as text so the record
    # outlives the user or key.
    acknowledged_by = models.CharField(max_length=200, blank=True, default="")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True, default="")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.CharField(max_length=200, blank=True, default="", help_text="Empty: it resolved by itself.")
    notified_at = models.DateTimeField(null=True, blank=True, help_text="When channels were last told of it.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "anomalies"
        constraints = [
            # Overlapping scans cannot open a second episode for the same series.
            models.UniqueConstraint(
                fields=["project", "watch"], condition=~models.Q(status="resolved"),
                name="one_unresolved_anomaly_per_project_watch",
            )
        ]  # fmt: skip
        indexes = [
            models.Index(fields=["project", "status", "-started_at"], name="anomaly_project_status"),
            models.Index(fields=["id"], name="anomaly_id_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.direction} of {self.watch} ({self.status})"

    @property
    def deviation(self) -> float | None:
        if self.actual is None or self.expected is None:
            return None
        return self.actual - self.expected


class Channel(models.Model):
    """Where a project's anomaly notifications go, from which severity on."""

    class Kind(models.TextChoices):
        WEBHOOK = "webhook"
        SLACK = "slack"
        EMAIL = "email"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="alert_channels")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=7, choices=Kind.choices)
    target = models.TextField(help_text="The URL (webhook, Slack incoming webhook) or comma-separated addresses.")
    # Kept as given: a signature needs the secret itself (API keys, which are only compared, are hashed).
    secret = models.CharField(max_length=200, blank=True, default="", help_text="Webhook: the HMAC-SHA256 key.")
    # Info by default: a channel hears of an anomaly when it opens (the backtest's `alert`), minutes sooner
    # than waiting for the evidence of a warning (docs/anomaly-notifications.md, "Severity and delay").
    min_severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.INFO)
    notify_resolved = models.BooleanField(default=True)
    renotify_minutes = models.PositiveIntegerField(default=0, help_text="Remind of still-open anomalies; 0: never.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Delivery(ProjectKeyedModel):
    """One notification to one channel (a group of anomalies), retried with backoff until it succeeds."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"

    # The channel's project, so that deliveries can be distributed with the anomalies they tell of.
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=10, help_text="opened, resolved, reminder or test")
    anomaly_ids = models.JSONField(default=list)
    payload = models.JSONField()
    status = models.CharField(max_length=9, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    response_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["next_attempt_at"], name="delivery_due", condition=models.Q(status="pending")),
            models.Index(fields=["channel", "-created_at"], name="delivery_log"),
            models.Index(fields=["id"], name="delivery_id_lookup"),
        ]

    def __str__(self) -> str:
        return f"{self.event} to {self.channel} ({self.status})"


class ThresholdRule(ProjectKeyedModel):
    """ "Notify when checkout.error_rate avg > 0.02 over 10 minutes": a condition on the trailing window's
    aggregate, checked every minute (anomalies.thresholds). Its episodes are anomalies of kind `threshold`
    on the rule's own watch (never scanned by the detector), so they share channels and lifecycle."""

    class Comparator(models.TextChoices):
        ABOVE = ">"
        AT_LEAST = ">="
        BELOW = "<"
        AT_MOST = "<="

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="threshold_rules")
    # One rule per watch, as a constraint that leads with project_id (a one-to-one field's unique index
    # would be on watch_id alone); the database's foreign key is the composite one of migration 0006.
    watch = ProjectForeignKey(
        Watch, on_delete=models.CASCADE, related_name="threshold_rules", related_query_name="threshold_rule",
        db_constraint=False,
    )  # fmt: skip
    source = models.CharField(max_length=6, choices=Watch.Source.choices)
    name = models.CharField(max_length=200, help_text="The event name or metric name.")
    tags = models.JSONField(default=dict, blank=True, help_text="Only points or events with these tags.")
    aggregation = models.CharField(max_length=12, help_text="count for events; an aggregation of the metric's type.")
    comparator = models.CharField(max_length=2, choices=Comparator.choices)
    threshold = models.FloatField()
    duration_minutes = models.PositiveIntegerField(help_text="The trailing window the aggregate is taken over.")
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.WARNING)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["project", "watch"], name="one_threshold_rule_per_watch")]
        indexes = [models.Index(fields=["id"], name="threshold_rule_id_lookup")]

    def __str__(self) -> str:
        return f"{self.name} {self.aggregation} {self.comparator} {self.threshold} for {self.duration_minutes} min"
