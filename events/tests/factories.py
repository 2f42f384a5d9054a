import json
import re
from datetime import datetime

from django.conf import settings
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
        cursor.execute("SELECT tableoid::regclass::text FROM events_rawevent WHERE id = %s", [event_id])
        row = cursor.fetchone()
    if row and settings.FLUX_STORAGE == "citus":  # a shard of the partition: its name and the shard's id
        return re.sub(r"_\d+$", "", row[0])
    return row[0] if row else ""


def stored_events(project: Project) -> list[dict]:
    """The project's raw events as dicts, oldest first (ties by id)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT name, time, user_id, session_id, value, tags, properties, environment, service, host,
                   request_id, client_id
            FROM events_event WHERE project_id = %s ORDER BY time, id
            """,
            [project.pk],
        )
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    # Django's psycopg setup hands jsonb back as text; the ORM would decode it.
    return [{**row, "tags": json.loads(row["tags"]), "properties": json.loads(row["properties"])} for row in rows]
