"""Hostile values through the live path: ingested by the API, rolled up, scanned; the scan completes,
writes sane rows, and finds no news below the values' resolution."""

import math
from datetime import UTC, datetime, timedelta

from anomalies.cadence import FAST
from anomalies.detection import severity_of
from anomalies.history import floor_step
from anomalies.models import Anomaly, DetectionSettings, Watch
from anomalies.rollup_trigger import SETTLE
from anomalies.scan import due_watch_ids, scan
from anomalies.watches import sync_watches
from events.models import RollupWatermark
from flux.tenants.models import Project
from metrics.rollups import roll_up_metrics

BUCKETS = 8 * 288  # eight days of five-minute buckets: busy gauges are scanned on them


def gauge_points(name: str, values: list[float], end: datetime, copies: list[int] | None = None) -> list[dict]:
    """One value per five minutes up to `end`, sent copies[k] times in its bucket (twice by default: busy)."""
    start = end - timedelta(minutes=5 * len(values))
    return [
        {"type": "gauge", "name": name, "value": value,
         "timestamp": (start + timedelta(minutes=5 * k, seconds=10 + copy)).isoformat()}
        for k, value in enumerate(values) for copy in range(copies[k] if copies else 2)
    ]  # fmt: skip


def test_extreme_gauges_are_scanned_sanely_and_a_step_below_their_resolution_is_no_news(
    post_json: object, keys: dict, project: Project
) -> None:
    DetectionSettings.objects.create(project=project, sensitivity="high")
    now = datetime.now(UTC)
    end = floor_step(now, timedelta(minutes=5))
    # Three points of 0.1 in a bucket average to 0.10000000000000002, two to 0.1: float rounding, not a
    # move. The gauge never moved, so a real step of a millionth of its level is news, not critical news.
    rounded_copies = [3 if k % 37 == 0 else 2 for k in range(BUCKETS)]
    points = (
        gauge_points("huge", [(-1) ** k * 1e100 for k in range(BUCKETS)], end)
        + gauge_points("tiny", [1e-300] * BUCKETS, end)
        + gauge_points("step", [5.0] * (BUCKETS - 1) + [5.000000001], end)  # the same reading, written apart
        + gauge_points("rounded", [0.1] * (BUCKETS - 1) + [0.1000001], end, rounded_copies)
    )
    for first in range(0, len(points), 1000):
        response = post_json("/api/v1/metrics/batch", points[first : first + 1000], key=keys["ingest"])
        assert response.json()["rejected"] == []
    RollupWatermark.objects.filter(stream="metrics").delete()
    roll_up_metrics(now + timedelta(minutes=10))
    # Complete up to `end`: the last bucket scanned is the last one sent.
    RollupWatermark.objects.filter(stream="metrics").update(watermark=end + SETTLE)
    sync_watches(now)
    result = scan(due_watch_ids(now + timedelta(minutes=10), 100), now + timedelta(minutes=10))
    assert result.failed == [] and result.scanned == 4
    watches = Watch.objects.filter(project=project)
    assert set(watches.values_list("interval_seconds", flat=True)) == {FAST}
    assert set(watches.values_list("history_end", flat=True)) == {end}
    opened = Anomaly.objects.filter(project=project)
    assert not opened.filter(watch__name="step").exists()
    assert not opened.filter(watch__name="rounded", severity="critical").exists()
    for anomaly in opened:
        numbers = (anomaly.score, anomaly.actual, anomaly.expected, anomaly.lower, anomaly.upper)
        assert all(number is None or math.isfinite(number) for number in numbers), anomaly


def test_an_episode_opened_after_its_peak_keeps_the_peak_score(post_json: object, keys: dict, project: Project) -> None:
    # A first scan scores only the last complete bucket; here it is missing, two buckets after a spike,
    # inside the episode the spike opened. The anomaly was opened with that bucket's score: 0, "info".
    # It opens with the verdict of the episode's strongest bucket so far (scan.opening_verdict): the spike.
    now = datetime.now(UTC)
    end = floor_step(now, timedelta(minutes=5)) - timedelta(minutes=10)
    points = gauge_points("queue.depth", [10.0 + (k % 3) for k in range(BUCKETS - 1)] + [80.0], end)
    for first in range(0, len(points), 1000):
        post_json("/api/v1/metrics/batch", points[first : first + 1000], key=keys["ingest"])
    RollupWatermark.objects.filter(stream="metrics").delete()
    roll_up_metrics(now + timedelta(minutes=10))
    RollupWatermark.objects.filter(stream="metrics").update(watermark=end + timedelta(minutes=10) + SETTLE)
    sync_watches(now)
    scan(due_watch_ids(now + timedelta(minutes=10), 100), now + timedelta(minutes=10))
    anomaly = Anomaly.objects.get(project=project)
    assert anomaly.started_at == end - timedelta(minutes=5) and anomaly.actual == 80.0
    assert anomaly.score > 0.5 and anomaly.severity == severity_of(anomaly.score)
