"""Which rollup rows answer a time range: pure bucket maths, shared by events and metrics.

A range [start, end) is covered by whole UTC days, then whole hours, then whole minutes at its
edges, and raw rows for the sub-minute remainders. The levels allowed can be restricted so that no
rollup row straddles an output bucket (e.g. no day rows for an hourly series).
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flux.query.timerange import TimeRange, approximate_seconds, bucket_starts

LEVELS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Piece:
    source: str  # "raw" or a level name
    start: datetime
    end: datetime


def floor_to(moment: datetime, step: timedelta) -> datetime:
    return EPOCH + ((moment - EPOCH) // step) * step


def ceil_to(moment: datetime, step: timedelta) -> datetime:
    floored = floor_to(moment, step)
    return floored if floored == moment else floored + step


def is_aligned(moment: datetime, level: str) -> bool:
    return floor_to(moment, LEVELS[level]) == moment


def cover(start: datetime, end: datetime, levels: tuple[str, ...] = ("minute", "hour", "day")) -> list[Piece]:
    """Disjoint pieces, in time order, that exactly cover [start, end), using the coarsest level possible."""
    usable = sorted(levels, key=lambda level: LEVELS[level])
    return _cover(start, end, usable)


def _cover(start: datetime, end: datetime, levels: list[str]) -> list[Piece]:
    if start >= end:
        return []
    if not levels:
        return [Piece("raw", start, end)]
    coarsest, finer = levels[-1], levels[:-1]
    inner_start, inner_end = ceil_to(start, LEVELS[coarsest]), floor_to(end, LEVELS[coarsest])
    if inner_start >= inner_end:
        return _cover(start, end, finer)
    return [
        *_cover(start, inner_start, finer),
        Piece(coarsest, inner_start, inner_end),
        *_cover(inner_end, end, finer),
    ]


def levels_for_interval(time_range: TimeRange, interval: str | None) -> tuple[str, ...]:
    """The levels that may answer a range: all of them for one total, else those fitting the buckets."""
    if interval is None:
        return tuple(LEVELS)
    return levels_for_buckets(bucket_starts(time_range, interval)[1:], approximate_seconds(interval))


def levels_for_buckets(bucket_edges: list[datetime], interval_seconds: float) -> tuple[str, ...]:
    """Levels whose rows never straddle the given bucket edges and are no coarser than the interval."""
    return tuple(
        level
        for level, size in LEVELS.items()
        if size.total_seconds() <= interval_seconds and all(is_aligned(edge, level) for edge in bucket_edges)
    )


def ranges_condition(
    pieces: list[Piece], column: str, with_level: bool, level_column: str = "level"
) -> tuple[str, list[Any]]:
    """SQL selecting the pieces' time ranges in `column` (and their rollup level, `with_level`)."""
    parts, params = [], []
    for piece in pieces:
        level = f"{level_column} = %s AND " if with_level else ""
        parts.append(f"({level}{column} >= %s AND {column} < %s)")
        params += [piece.source, piece.start, piece.end] if with_level else [piece.start, piece.end]
    return " OR ".join(parts) or "FALSE", params
