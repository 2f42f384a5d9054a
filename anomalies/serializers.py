"""JSON shapes of anomalies and watches: the REST API and the live pushes use the same ones."""

from datetime import UTC, datetime

from anomalies.models import Anomaly, Watch
from flux.web.serializers import iso

# A mute ending later reads as ending then ("until further notice" on the pages): 9999-12-31 in UTC is year
# 10000 east of UTC, which browsers show as such and Python cannot hold (OverflowError).
MUTED_FOREVER = datetime(9999, 1, 1, tzinfo=UTC)


def watch_json(watch: Watch) -> dict:
    return {
        "id": watch.pk, "source": watch.source, "name": watch.name,
        "tags": watch.series.tags if watch.series_id else {}, "measure": watch.measure,
        "sensitivity": watch.sensitivity or None, "excluded": watch.excluded,
        "muted_until": iso(min(watch.muted_until, MUTED_FOREVER)) if watch.muted_until else None,
    }  # fmt: skip


def watched_json(watch: Watch) -> dict:
    """watch_json, and how its scans go: what the series settings show (an anomaly's series need not)."""
    scanned = watch.last_scanned_at
    return watch_json(watch) | {
        "interval_seconds": watch.interval_seconds, "last_scanned_at": iso(scanned) if scanned else None,
        "next_scan_at": iso(watch.next_scan_at),
    }  # fmt: skip


def anomaly_json(anomaly: Anomaly) -> dict:
    return {
        "id": anomaly.pk, "series": watch_json(anomaly.watch), "kind": anomaly.kind, "direction": anomaly.direction,
        "status": anomaly.status, "severity": anomaly.severity, "score": round(anomaly.score, 4),
        "started_at": iso(anomaly.started_at), "last_anomalous_at": iso(anomaly.last_anomalous_at),
        "interval_seconds": anomaly.interval_seconds, "actual": anomaly.actual, "expected": anomaly.expected,
        "lower": anomaly.lower, "upper": anomaly.upper, "deviation": anomaly.deviation,
        "deviation_percent": deviation_percent(anomaly),
        "explanation": anomaly.explanation,
        "acknowledged_by": anomaly.acknowledged_by or None,
        "acknowledged_at": iso(anomaly.acknowledged_at) if anomaly.acknowledged_at else None,
        "note": anomaly.note,
        "resolved_at": iso(anomaly.resolved_at) if anomaly.resolved_at else None,
        "resolved_by": anomaly.resolved_by or None,
    }  # fmt: skip


def deviation_percent(anomaly: Anomaly) -> float | None:
    if anomaly.deviation is None or not anomaly.expected:
        return None
    return anomaly.deviation / abs(anomaly.expected) * 100
