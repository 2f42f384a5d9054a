"""Tool answers are cut to MAX_ANSWER_BYTES by halving their biggest list, wherever it lies."""

import json

from flux.mcp.tools import MAX_ANSWER_BYTES, bounded


def test_a_metrics_one_series_keeps_its_first_points_not_nothing() -> None:
    """At 15m over a week a p95 series of 673 points was over the bound: its list of one series was halved to []."""
    points = [[f"2026-12-01T{index // 4 % 24:02}:{index % 4 * 15:02}:00Z", 200.0 + index / 7] for index in range(673)]
    answer = bounded({"name": "api.latency", "series": [{"key": None, "points": points}], "interval": "15m"})
    kept = answer["series"][0]["points"]
    assert answer["truncated"] is True and len(json.dumps(answer)) <= MAX_ANSWER_BYTES
    assert 0 < len(kept) < 673 and kept == points[: len(kept)] and all(len(point) == 2 for point in kept)


def test_an_answer_within_the_bound_is_left_as_it_is() -> None:
    answer = {"series": [{"key": "a", "points": [["2026-12-01T00:00:00Z", 1.0]]}]}
    assert bounded(answer) is answer
