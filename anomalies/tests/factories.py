from datetime import datetime

from anomalies import services
from anomalies.detection import DETECTOR_VERSION
from anomalies.models import Anomaly, Watch
from anomalies.services import Verdict
from flux.tenants.models import Project
from metrics.models import MetricSeries


def make_watch(
    project: Project, name: str = "user.signup", series: MetricSeries | None = None, **fields: object
) -> Watch:
    source = Watch.Source.METRIC if series else Watch.Source.EVENTS
    measure = fields.pop("measure", "count")
    if "peek_above" in fields or "minute_rate" in fields:  # as a scan of this detector version sets them
        fields.setdefault("baseline_version", DETECTOR_VERSION)
    return Watch.objects.create(
        project=project, source=source, name=name, series=series, measure=measure,
        next_scan_at=fields.pop("next_scan_at", datetime(2026, 11, 1).astimezone()), **fields,
    )  # fmt: skip


def open_anomaly(watch: Watch, bucket: datetime, severity: str = "warning", kind: str = "spike") -> Anomaly:
    """An anomaly opened the way a scan opens one: 90 where 30 was expected (band 20 to 40)."""
    verdict = Verdict(bucket, 3600, True, 0.8, severity, kind, "up", 90.0, 30.0, 20.0, 40.0)
    return services.apply_verdict(watch, verdict, bucket)[1]
