"""Tool answers are cut to MAX_ANSWER_BYTES as sent (indented): series first, each keeping its latest points,
so that every group, series and widget stays; other lists only when points no longer help."""

import json

from flux.mcp.bounding import MAX_ANSWER_BYTES, bounded


def hours(count: int, start: float = 0.0) -> list[list]:
    return [[f"2026-12-{1 + index // 24:02}T{index % 24:02}:00:00Z", start + index / 7] for index in range(count)]


def sent(answer: dict) -> int:
    return len(json.dumps(answer, indent=2))


def test_a_metrics_one_series_keeps_its_latest_points_not_nothing() -> None:
    """At 15m over a week a p95 series of 673 points was over the bound: its list of one series was halved to []."""
    points = hours(673, 200.0)
    answer = bounded({"name": "api.latency", "series": [{"key": None, "points": points}], "interval": "15m"})
    kept = answer["series"][0]["points"]
    assert answer["truncated"] is True and sent(answer) <= MAX_ANSWER_BYTES
    assert 0 < len(kept) < 673 and kept == points[-len(kept) :]
    assert answer["truncation"] == [f"each series keeps its latest {len(kept)} point(s)"]


def test_every_group_stays_when_an_answer_is_cut() -> None:
    """42 groups by country at 1h: 2 were left, `__other__` gone, and the groups added up to 79 of 822."""
    groups = [{"key": f"country-{index}", "total": 20, "points": hours(120)} for index in range(41)]
    groups.append({"key": "__other__", "total": 2, "points": hours(120)})
    answer = bounded({"count": 822, "groups": groups})
    assert [group["key"] for group in answer["groups"]] == [group["key"] for group in groups]
    assert sum(group["total"] for group in answer["groups"]) == 822
    assert sent(answer) <= MAX_ANSWER_BYTES


def test_other_lists_are_cut_only_when_single_points_do_not_fit_and_say_so() -> None:
    answer = bounded({"widgets": [{"title": f"widget {index}", "text": "x" * 400} for index in range(200)]})
    assert sent(answer) <= MAX_ANSWER_BYTES
    assert answer["truncation"] == [f"widgets: the first {len(answer['widgets'])} of 200 items"]


def test_the_bound_is_on_the_answer_as_sent_indented() -> None:
    """Measured on compact JSON, a dashboard's answer went out at 70,692 bytes."""
    compact_fits = {"widgets": [{"series": hours(60)} for _ in range(8)]}
    assert len(json.dumps(compact_fits)) <= MAX_ANSWER_BYTES < sent(compact_fits)
    assert sent(bounded(compact_fits)) <= MAX_ANSWER_BYTES


def test_an_answer_within_the_bound_is_left_as_it_is() -> None:
    answer = {"series": [{"key": "a", "points": [["2026-12-01T00:00:00Z", 1.0]]}]}
    assert bounded(answer) is answer
