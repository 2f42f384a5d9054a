from django.db import models


class Event(models.Model):
    """A raw event. The table is created by flux.storage (partitioned by time), not by Django.

    `id` is unique in practice (one sequence) but the database key is (id, time), as partitioned
    tables and hypertables require; so look events up by project, id and, when known, time.
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
