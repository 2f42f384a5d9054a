"""The one function every ingestion endpoint calls: validate a batch, store the valid part, report the rest."""

from contextlib import nullcontext
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from events.ingest import EventRow, clean_event, copy_events
from flux.ingestion.dedupe import keep_first_claims
from flux.ingestion.models import SeenItemId
from flux.payloads.fields import TimeWindow
from flux.tenants.models import Project
from flux.web import realtime
from metrics.cardinality import fold_excess_cardinality
from metrics.ingest import PointItem, clean_point, copy_points, resolve_metric_types, resolve_series


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)  # stored, but not as sent (metrics.cardinality)

    def reject(self, index: int, kind: str, errors: list[str]) -> None:
        self.rejected.append({"index": index, "kind": kind, "errors": errors})

    def as_dict(self) -> dict:
        answer = {"accepted": self.accepted, "duplicates": self.duplicates, "rejected": self.rejected}
        if self.warnings:
            answer["warnings"] = self.warnings
        return answer


def ingest(project: Project, events: list, metrics: list) -> IngestResult:
    """Store every valid event and metric point of a batch in one transaction; report invalid ones by index.

    Returns only after the accepted items are committed.
    """
    result = IngestResult()
    window = TimeWindow.around(timezone.now(), project.retention_days, settings.FLUX_MAX_FUTURE_SECONDS)
    event_rows: list[EventRow] = []
    for index, item in enumerate(events):
        row, errors = clean_event(item, window)
        if errors:
            result.reject(index, "event", errors)
        else:
            event_rows.append(row)
    points: list[PointItem] = []
    for index, item in enumerate(metrics):
        point, errors = clean_point(index, item, window)
        if errors:
            result.reject(index, "metric", errors)
        else:
            points.append(point)

    # Events without client ids need one statement, a COPY; outside a transaction block it is a transaction
    # of its own, committed when it completes, which saves the round trips of BEGIN and COMMIT.
    one_statement = not points and not any(row.client_id for row in event_rows)
    with nullcontext() if one_statement else transaction.atomic(), connection.cursor() as cursor:
        if points:
            stored_types = resolve_metric_types(cursor, project.pk, points)
            points = [point for point in points if type_matches(point, stored_types, result)]
        event_rows, event_duplicates = keep_first_claims(
            cursor, project.pk, SeenItemId.Kind.EVENT, event_rows, lambda row: row.client_id
        )
        points, point_duplicates = keep_first_claims(
            cursor, project.pk, SeenItemId.Kind.METRIC, points, lambda point: point.client_id
        )
        if points:
            points, result.warnings = fold_excess_cardinality(cursor, project.pk, points)
            copy_points(cursor, project.pk, points, resolve_series(cursor, project.pk, points))
        copy_events(cursor, project.pk, event_rows)
        names = ({row.name for row in event_rows}, {point.name for point in points})
        transaction.on_commit(lambda: realtime.data_arrived_soon(project.pk, *names))
    result.accepted = len(event_rows) + len(points)
    result.duplicates = event_duplicates + point_duplicates
    result.rejected.sort(key=lambda rejection: (rejection["kind"], rejection["index"]))
    return result


def type_matches(point: PointItem, stored_types: dict[str, str], result: IngestResult) -> bool:
    stored = stored_types[point.name]
    if point.type == stored:
        return True
    result.reject(point.index, "metric", [f"metric {point.name!r} is a {stored}; this point is a {point.type}"])
    return False
