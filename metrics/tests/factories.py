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


def insert_point(series: MetricSeries, time: datetime, value: float = 1.0) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO metrics_point (project_id, series_id, time, value) VALUES (%s, %s, %s, %s)",
            [series.project_id, series.pk, time, value],
        )


def count_points(series: MetricSeries) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM metrics_point WHERE series_id = %s", [series.pk])
        return cursor.fetchone()[0]
