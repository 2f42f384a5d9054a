from datetime import datetime

from anomalies.models import Watch
from flux.tenants.models import Project
from metrics.models import MetricSeries


def make_watch(
    project: Project, name: str = "user.signup", series: MetricSeries | None = None, **fields: object
) -> Watch:
    source = Watch.Source.METRIC if series else Watch.Source.EVENTS
    measure = fields.pop("measure", "count")
    return Watch.objects.create(
        project=project, source=source, name=name, series=series, measure=measure,
        next_scan_at=fields.pop("next_scan_at", datetime(2026, 11, 1).astimezone()), **fields,
    )  # fmt: skip
