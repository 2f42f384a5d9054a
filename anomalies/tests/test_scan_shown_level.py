"""What an anomaly says it expected: a shortfall of a busy count whose detector expectation is no more
than what came (the median of low five-minute counts after a fall is 0) is shown against the series'
usual events in such a bucket, its minute baseline. An email read "order.placed: flatline down: 0 vs 0
expected"."""

from datetime import UTC, datetime

from anomalies.scan import with_usual_level
from anomalies.services import Verdict

BUCKET = datetime(2026, 12, 7, 3, 5, tzinfo=UTC)


def verdict(direction: str, actual: float, expected: float, kind: str = "flatline") -> Verdict:
    return Verdict(BUCKET, 300, True, 0.7, "info", kind, direction, actual, expected, 0.0, 6.4)


def test_a_stop_expected_at_zero_is_shown_against_the_usual_events_of_its_bucket() -> None:
    shown = with_usual_level(verdict("down", 0.0, 0.0), minute_rate=0.284)
    assert shown.expected is not None and round(shown.expected, 2) == 1.42  # 0.284 events a minute, 5 minutes


def test_an_expectation_above_what_came_is_kept() -> None:
    assert with_usual_level(verdict("down", 0.0, 3.0), minute_rate=0.284).expected == 3.0


def test_a_rise_or_a_series_without_minute_baseline_is_left_as_the_detector_said() -> None:
    assert with_usual_level(verdict("up", 9.0, 9.0, "spike"), minute_rate=0.284).expected == 9.0
    assert with_usual_level(verdict("down", 0.0, 0.0), minute_rate=None).expected == 0.0
