from django.contrib.postgres.fields import ArrayField
from django.db import models


class Event(models.Model):
    """A raw event, read through the view `events_event`, which decodes the rows of `events_rawevent`
    (created by flux.storage, partitioned by time; names and tag sets dictionary-encoded: events/sql.py).

    `id` is unique (one sequence) but not a database key: look events up by project, id and, when known, time.
    """

    id = models.BigIntegerField(primary_key=True)
    project_id = models.BigIntegerField()
    time = models.DateTimeField()
    received_at = models.DateTimeField()
    name = models.TextField()
    user_id = models.TextField(null=True)
    session_id = models.TextField(null=True)
    value = models.FloatField(null=True)
    tags = models.JSONField(default=dict)
    properties = models.JSONField(default=dict)
    environment = models.TextField(null=True)
    service = models.TextField(null=True)
    host = models.TextField(null=True)
    request_id = models.TextField(null=True)
    client_id = models.TextField(null=True)

    class Meta:
        managed = False
        db_table = "events_event"

    def __str__(self) -> str:
        return f"{self.name} at {self.time:%Y-%m-%d %H:%M:%S}"


class EventName(models.Model):
    """An event name of a project, stored once; raw events carry its `id` (unique across projects)."""

    pk = models.CompositePrimaryKey("project_id", "id")
    project_id = models.BigIntegerField()
    id = models.IntegerField()
    name = models.TextField()

    class Meta:
        managed = False  # created with the raw table (migration 0011), written by events.dictionaries
        db_table = "events_eventname"

    def __str__(self) -> str:
        return self.name


class EventTagSet(models.Model):
    """A tag set of a project, stored once, found by the digest of its canonical JSON; raw events carry
    its `id` (unique across projects)."""

    pk = models.CompositePrimaryKey("project_id", "id")
    project_id = models.BigIntegerField()
    id = models.IntegerField()
    digest = models.UUIDField()
    tags = models.JSONField()

    class Meta:
        managed = False  # created with the raw table (migration 0011), written by events.dictionaries
        db_table = "events_eventtagset"

    def __str__(self) -> str:
        return str(self.tags)


class RollupLevel(models.TextChoices):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"


class EventRollup(models.Model):
    """Events of one name in one UTC minute, hour or day: counts, `value` aggregates and sketches.

    Maintained by `events.rollups.roll_up_events` from raw rows received up to the watermark; kept after
    raw data expires (see flux.storage.maintenance). Sketches (flux.query.sketches): `value_keys`/`value_counts`
    for percentiles of `value`; `user_hashes` (exact, while few) or `user_registers` for unique users.
    """

    # The upsert target of the rollup job and the index queries read by; the project leads, so that
    # the table can be distributed by project.
    pk = models.CompositePrimaryKey("project", "level", "name", "bucket")
    # No database constraint and no cascade: a deleted project's rollups are purged in batches.
    project = models.ForeignKey(
        "tenants.Project", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    level = models.CharField(max_length=6, choices=RollupLevel.choices)
    name = models.CharField(max_length=200)
    bucket = models.DateTimeField()
    count = models.BigIntegerField()
    value_count = models.BigIntegerField()
    value_sum = models.FloatField(null=True)
    value_min = models.FloatField(null=True)
    value_max = models.FloatField(null=True)
    value_keys = ArrayField(models.IntegerField(), null=True)
    value_counts = ArrayField(models.BigIntegerField(), null=True)
    user_hashes = ArrayField(models.BigIntegerField(), null=True)
    user_registers = models.BinaryField(null=True)

    class Meta:
        # Retention deletes old buckets level by level.
        indexes = [models.Index(fields=["level", "bucket"], name="event_rollup_level_bucket")]

    def __str__(self) -> str:
        return f"{self.name} {self.level} {self.bucket:%Y-%m-%d %H:%M}: {self.count}"


class EventTagRollup(models.Model):
    """Events of one name with one tag value in one UTC hour or day: what grouping and filtering
    by a tag read instead of raw rows. Maintained with EventRollup by the same job; about one narrow row
    per distinct (name, tag, value) per hour, which is why tags should have few values."""

    # The upsert target of the rollup job; queries read a key's buckets across names by its prefix.
    pk = models.CompositePrimaryKey("project", "tag_key", "level", "bucket", "name", "tag_value")
    project = models.ForeignKey(
        "tenants.Project", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    level = models.CharField(max_length=6, choices=RollupLevel.choices)
    name = models.CharField(max_length=200)
    tag_key = models.CharField(max_length=200)
    tag_value = models.TextField()
    bucket = models.DateTimeField()
    count = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["level", "bucket"], name="event_tag_rollup_level_bucket")]  # expiry

    def __str__(self) -> str:
        return f"{self.name} {self.tag_key}={self.tag_value} {self.level} {self.bucket:%Y-%m-%d %H:%M}: {self.count}"


class RollupWatermark(models.Model):
    """Raw rows received at or before `watermark` are in the rollups of `stream`."""

    stream = models.CharField(max_length=40, unique=True)
    watermark = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.stream} rolled up to {self.watermark}"


class SavedView(models.Model):
    """A named events-explorer query of a project (its filters and range as the page's address holds them),
    shared by the project's members (events/saved_views.py)."""

    project = models.ForeignKey("tenants.Project", on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=100)
    params = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="saved_view_name_per_project")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
