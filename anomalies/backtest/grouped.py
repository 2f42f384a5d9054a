"""Score a file's rows: one series, or each series on its own with the results put back in input order."""

from __future__ import annotations

import numpy as np

from anomalies.detection.config import Sensitivity, ValueKind
from anomalies.detection.rows import ROW_FIELDS, RowScores, score_rows

from .reader import Table


class SeriesFailure(Exception):
    """The detector raised on one series (a bug in the detector: the input was checked)."""

    def __init__(self, series: str | None) -> None:  # None: the file is one series
        super().__init__(series)
        self.series = series


def score_table(
    table: Table, kind: ValueKind, sensitivity: Sensitivity, interval: int | None, timezone: str = "UTC"
) -> RowScores:
    """Per input row; with series, each scored exactly as if its rows were a file of their own."""
    if table.series is None:
        return _score(table.times, table.values, kind, sensitivity, interval, timezone, None)
    columns: dict[str, np.ndarray] = {}
    for key, rows in table.series.items():
        index = np.asarray(rows)
        scores = _score(table.times[index], table.values[index], kind, sensitivity, interval, timezone, key)
        for name in ROW_FIELDS:
            column = getattr(scores, name)
            columns.setdefault(name, np.empty(len(table.texts), dtype=column.dtype))[index] = column
        config = scores.config  # the last series': only a one-series file's note reads it
    return RowScores(config=config, **columns)


def unscored_series(table: Table, scores: RowScores) -> list[str]:
    """The series none of whose rows got an expected value (too little history), in order of appearance."""
    return [key for key, rows in _groups(table).items() if np.isnan(scores.expected[rows]).all()]


def late_unscored_rows(table: Table, scores: RowScores) -> int:
    """Rows past their series' warm-up (warmup_seconds after its first row) that still got no expected value:
    data sparser there than the buckets (rows 300 s apart in 60-s buckets), or history broken by a gap."""
    late = 0
    for rows in _groups(table).values():
        times, expected = table.times[rows], scores.expected[rows]
        past = times >= times.min() + scores.config.windows.warmup_seconds
        late += int(np.count_nonzero(past & np.isnan(expected)))
    return late


def _groups(table: Table) -> dict[str, list[int]]:
    """The rows of each series (one series, keyed "", without --series-column)."""
    return table.series or {"": list(range(len(table.texts)))}


def _score(
    times: np.ndarray,
    values: np.ndarray,
    kind: ValueKind,
    sensitivity: Sensitivity,
    interval: int | None,
    timezone: str,
    key: str | None,
) -> RowScores:
    try:
        return score_rows(times, values, kind, sensitivity, interval, timezone)
    except Exception as error:  # the input was checked: whatever fails here is a bug in the detector
        raise SeriesFailure(key) from error
