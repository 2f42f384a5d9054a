"""Reads of anomalies and watches. Every function takes the project first."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet

from anomalies.models import Anomaly, Channel, Delivery, DetectionSettings, Watch
from flux.query.query_params import page_cursor
from flux.tenants.models import Project
from flux.web.serializers import iso

MAX_MARKS = 20


@dataclass(frozen=True)
class AnomalyFilter:
    statuses: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    name: str | None = None  # exact, or a glob with * and ?
    start: datetime | None = None  # episodes that overlap [start, end)
    end: datetime | None = None


def filtered_anomalies(project: Project, anomaly_filter: AnomalyFilter) -> QuerySet[Anomaly]:
    anomalies = Anomaly.objects.filter(project=project).select_related("watch", "watch__series")
    if anomaly_filter.statuses:
        anomalies = anomalies.filter(status__in=anomaly_filter.statuses)
    if anomaly_filter.severities:
        anomalies = anomalies.filter(severity__in=anomaly_filter.severities)
    if anomaly_filter.kinds:
        anomalies = anomalies.filter(kind__in=anomaly_filter.kinds)
    if anomaly_filter.name:
        anomalies = anomalies.filter(watch__name__regex=glob_to_regex(anomaly_filter.name))
    if anomaly_filter.end:
        anomalies = anomalies.filter(started_at__lt=anomaly_filter.end)
    if anomaly_filter.start:
        # Still unresolved, or resolved after the start: the episode overlaps the range.
        anomalies = anomalies.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=anomaly_filter.start))
    return anomalies


def glob_to_regex(pattern: str) -> str:
    """An event-name glob (* and ?) as an anchored regular expression (PostgreSQL's dialect accepts it)."""
    # A run of stars is one star: PostgreSQL compiles n of them in about n³ time (300: two seconds).
    parts = {"*": ".*", "?": "."}
    return "^" + "".join(parts.get(char) or re.escape(char) for char in re.sub(r"\*+", "*", pattern)) + "$"


def list_anomalies(
    project: Project, anomaly_filter: AnomalyFilter, limit: int, after: tuple[datetime, int] | None
) -> tuple[list[Anomaly], str | None]:
    """Newest episode first, `limit` at a time; `after` is the (started_at, id) of the last one seen."""
    anomalies = filtered_anomalies(project, anomaly_filter)
    if after is not None:
        moment, anomaly_id = after
        anomalies = anomalies.filter(Q(started_at__lt=moment) | Q(started_at=moment, pk__lt=anomaly_id))
    page = list(anomalies.order_by("-started_at", "-pk")[: limit + 1])
    last = page[limit - 1] if len(page) > limit else None
    return page[:limit], page_cursor(last.started_at, last.pk) if last else None


def get_anomaly(project: Project, anomaly_id: int) -> Anomaly | None:
    return Anomaly.objects.filter(project=project, pk=anomaly_id).select_related("watch", "watch__series").first()


def count_open(project: Project) -> dict[str, int]:
    """Unresolved anomalies per severity."""
    unresolved = Anomaly.objects.filter(project=project).exclude(status=Anomaly.Status.RESOLVED)
    counted = dict(unresolved.values_list("severity").annotate(count=Count("pk")).values_list("severity", "count"))
    return {severity: counted.get(severity, 0) for severity in ("info", "warning", "critical")}


def count_open_anomalies(project: Project | int) -> int:
    """Anomalies still open (neither acknowledged nor resolved): the navigation's badge."""
    project_id = project if isinstance(project, int) else project.pk
    return Anomaly.objects.filter(project_id=project_id, status=Anomaly.Status.OPEN).count()


def list_watches(project: Project, name: str | None = None) -> QuerySet[Watch]:
    watches = Watch.objects.filter(project=project, threshold_rule__isnull=True)  # a rule's watch is the rule's
    watches = watches.select_related("series").order_by("name", "series_id", "measure")
    return watches.filter(name=name) if name else watches


def get_watch(project: Project, watch_id: int) -> Watch | None:
    """A watched series as list_watches shows them: a threshold rule's watch is the rule's, not one of them."""
    watches = Watch.objects.filter(project=project, pk=watch_id, threshold_rule__isnull=True)
    return watches.select_related("series").first()


def detection_settings(project: Project) -> DetectionSettings:
    """The project's settings, or the defaults (unsaved) when it never changed them."""
    return DetectionSettings.objects.filter(project=project).first() or DetectionSettings(project=project)


def list_channels(project: Project) -> QuerySet[Channel]:
    return Channel.objects.filter(project=project).order_by("name", "pk")


def get_channel(project: Project, channel_id: int) -> Channel | None:
    return Channel.objects.filter(project=project, pk=channel_id).first()


def list_deliveries(channel: Channel, limit: int) -> list[Delivery]:
    """The channel's delivery log, newest first."""
    deliveries = Delivery.objects.filter(project_id=channel.project_id, channel=channel)
    return list(deliveries.order_by("-created_at", "-pk")[:limit])


def anomaly_marks(project: Project, source: str, name: str | None, start: datetime, end: datetime) -> list[dict]:
    """Episodes of the series a widget reads (an event name or glob, or a metric) overlapping [start, end),
    for marking them on its graph."""
    anomalies = Anomaly.objects.filter(project=project, watch__source=source, started_at__lt=end)
    anomalies = anomalies.filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=start))
    anomalies = anomalies.filter(watch__name__regex=glob_to_regex(name or "*"))
    marks = []
    for anomaly in anomalies.select_related("watch").order_by("started_at")[:MAX_MARKS]:
        ended = anomaly.last_anomalous_at + timedelta(seconds=anomaly.interval_seconds)
        marks.append({
            "id": anomaly.pk, "name": anomaly.watch.name, "kind": anomaly.kind, "severity": anomaly.severity,
            "status": anomaly.status, "from": iso(anomaly.started_at), "to": iso(ended),
        })  # fmt: skip
    return marks
