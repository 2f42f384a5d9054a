"""A project at a glance: what came in over a range against the range before, the busiest events and
metrics, unresolved anomalies, and the health of ingestion. Composes the apps' queries; reads only the given project."""

from collections import Counter

from anomalies.models import Anomaly
from anomalies.queries import AnomalyFilter, count_open, list_anomalies
from anomalies.serializers import anomaly_json
from events.queries import count_groups, count_series
from flux.ingestion import outcomes
from flux.query.compare import earlier, shown_percent_change
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.tenants.models import Project
from flux.web.serializers import iso, points_json
from metrics.models import Metric
from metrics.queries import cardinality_warnings_json, points_per_metric, points_series

TOP = 10
ALL_NAMES = 1000  # beyond it the rest is one `__other__` group, still counted in the total


def volume_json(series: list, previous_total: int) -> dict:
    total = sum(count for _, count in series)
    return {
        "total": total, "previous": previous_total, "change_percent": shown_percent_change(total, previous_total),
        "series": points_json(series),
    }  # fmt: skip


def project_overview(project: Project, time_range: TimeRange, interval: str) -> dict:
    """Events and metric points in the range with their trend, the top events and metrics, ingestion health."""
    before = earlier(time_range, "previous")
    everything = EventFilter()
    top_events = count_groups(project, time_range, everything, "name", TOP)
    previous_groups = count_groups(project, before, everything, "name", ALL_NAMES)
    previous_events = Counter({group.key: group.count for group in previous_groups})
    points_now = points_per_metric(project.pk, time_range)
    points_before = points_per_metric(project.pk, before)
    metrics = Metric.objects.filter(project_id=project.pk, pk__in=points_now).in_bulk()
    busiest = sorted(points_now.items(), key=lambda item: (-item[1], metrics[item[0]].name))[:TOP]
    return {
        "events": volume_json(count_series(project, time_range, everything, interval), previous_events.total()),
        "metric_points": volume_json(points_series(project.pk, time_range, interval), sum(points_before.values())),
        "top_events": [
            {"name": group.key, "count": group.count, "previous": previous_events[group.key],
             "change_percent": shown_percent_change(group.count, previous_events[group.key])}
            for group in top_events if group.key != "__other__"
        ],
        "active_metrics": [
            {"name": metrics[metric_id].name, "type": metrics[metric_id].type, "points": count,
             "previous": points_before.get(metric_id, 0),
             "change_percent": shown_percent_change(count, points_before.get(metric_id, 0))}
            for metric_id, count in busiest
        ],
        "anomalies": anomalies_json(project),
        "ingestion": ingestion_json(project),
        "cardinality_warnings": cardinality_warnings_json(project.pk),
    }  # fmt: skip


def anomalies_json(project: Project) -> dict:
    unresolved = AnomalyFilter(statuses=(Anomaly.Status.OPEN, Anomaly.Status.ACKNOWLEDGED))
    newest, _ = list_anomalies(project, unresolved, TOP, None)
    return {"open": count_open(project), "newest": [anomaly_json(anomaly) for anomaly in newest]}


def ingestion_json(project: Project) -> dict:
    health = outcomes.health(project.pk)
    return {
        "available": health.available,
        "last_received_at": iso(health.last_received_at) if health.last_received_at else None,
        "last_hour": health.last_hour,
        "recent_rejections": health.recent_rejections,
    }
