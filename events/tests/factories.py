import json
from datetime import datetime

from django.db import connection

from flux.tenants.models import Project


def insert_event(project: Project, time: datetime, name: str = "user.signup", **columns: object) -> int:
    """Insert one raw event with SQL (ingestion has its own tests); returns its id."""
    values = {"project_id": project.pk, "time": time, "name": name, **columns}
    for json_column in ("tags", "properties"):
        if json_column in values:
            values[json_column] = json.dumps(values[json_column])
    names = ", ".join(values)
    placeholders = ", ".join(["%s"] * len(values))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO events_event ({names}) VALUES ({placeholders}) RETURNING id", list(values.values())
        )
        return cursor.fetchone()[0]


def partition_of_event(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tableoid::regclass::text FROM events_event WHERE id = %s", [event_id])
        row = cursor.fetchone()
    return row[0] if row else ""
