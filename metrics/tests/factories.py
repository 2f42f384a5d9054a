import json
from datetime import datetime

from django.db import connection

from flux.tenants.models import Project
from metrics.models import Metric, MetricSeries, tags_fingerprint


def make_series(project: Project, name: str = "queue.depth", metric_type: str = "gauge", **tags: str) -> MetricSeries:
    metric, _ = Metric.objects.get_or_create(project=project, name=name, defaults={"type": metric_type})
    series, _ = MetricSeries.objects.get_or_create(
        project=project, metric=metric, tags_hash=tags_fingerprint(tags), defaults={"tags": tags}
    )
    return series


def insert_point(
    series: MetricSeries, time: datetime, value: float = 1.0, member: str | None = None,
    received_at: datetime | None = None,
) -> None:  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(
            """INSERT INTO metrics_point (project_id, series_id, time, value, member, received_at)
               VALUES (%s, %s, %s, %s, %s, coalesce(%s, now()))""",
            [series.project_id, series.pk, time, value, member, received_at],
        )


def count_points(series: MetricSeries) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metrics_point WHERE series_id = %s", [series.pk])
        return cursor.fetchone()[0]


def stored_points(project: Project) -> list[dict]:
    """The project's raw points with their series' name, type and tags, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT m.name, m.type, s.tags, p.time, p.value, p.member, p.client_id
            FROM metrics_point p JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
            JOIN metrics_metric m ON m.id = s.metric_id
            WHERE p.project_id = %s ORDER BY p.time, m.name, p.value
            """,
            [project.pk],
        )
        columns = [column.name for column in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
    return [{**row, "tags": json.loads(row["tags"])} for row in rows]
