"""MCP tool answers cut to MAX_ANSWER_BYTES as the MCP SDK sends them (JSON indented by two spaces).

Series are cut first, every one alike, each keeping its latest points, so that every group, series and
widget of the answer is still there; only when single points no longer help are other lists cut (each
keeping its first half, biggest first). `"truncation"` says what was cut, for the model to tell its user.
"""

import json
from collections.abc import Iterator
from typing import Any

MAX_ANSWER_BYTES = 24_000


def bounded(answer: Any) -> Any:
    if not isinstance(answer, dict) or sent_size(answer) <= MAX_ANSWER_BYTES:
        return answer
    answer = json.loads(json.dumps(answer, default=str))
    kept_points: int | None = None
    lengths: dict[str, int] = {}  # where a list other than a series was cut: its length before

    def marked() -> dict:
        notes = [] if kept_points is None else [f"each series keeps its latest {kept_points} point(s)"]
        notes += [f"{path}: the first {len(items)} of {lengths[path]} items" for path, items in cut(answer, lengths)]
        return {**answer, "truncated": True, "truncation": notes}

    while sent_size(marked()) > MAX_ANSWER_BYTES and (series := [items for _, items in nested_lists(answer)
                                                                 if is_series(items)]):  # fmt: skip
        kept_points = max(len(items) for items in series) // 2
        for items in series:
            del items[: max(0, len(items) - kept_points)]
    while sent_size(marked()) > MAX_ANSWER_BYTES:
        lists = [(path, items) for path, items in nested_lists(answer) if len(items) >= 2 and not is_series(items)]
        if not lists:
            break
        path, biggest = max(lists, key=lambda pair: len(json.dumps(pair[1])))
        lengths.setdefault(path, len(biggest))
        del biggest[len(biggest) // 2 :]
    return marked()


def sent_size(answer: Any) -> int:
    return len(json.dumps(answer, default=str, indent=2))


def is_series(items: list) -> bool:
    """Points, `[time, value]` each (a list of one or none counts as nothing left to cut)."""
    return len(items) >= 2 and all(is_point(item) for item in items)


def is_point(item: Any) -> bool:
    return isinstance(item, list) and len(item) == 2 and not any(isinstance(part, (list, dict)) for part in item)


def nested_lists(value: Any, path: str = "") -> Iterator[tuple[str, list]]:
    """Every list inside `value`, itself included, with where it lies (`groups[3].points`)."""
    if isinstance(value, list):
        yield path, value
        if not is_series(value):
            for index, item in enumerate(value):
                yield from nested_lists(item, f"{path}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nested_lists(item, f"{path}.{key}" if path else str(key))


def cut(answer: dict, lengths: dict[str, int]) -> Iterator[tuple[str, list]]:
    for path, items in nested_lists(answer):
        if path in lengths:
            yield path, items
