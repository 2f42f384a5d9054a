from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given
from hypothesis import strategies as st

from flux.query.rollup_cover import LEVELS, Piece, cover, is_aligned, levels_for_buckets

BASE = datetime(2026, 11, 1, tzinfo=UTC)
instants = st.integers(min_value=0, max_value=40 * 86400 * 1000).map(lambda ms: BASE + timedelta(milliseconds=ms))


def test_a_long_range_uses_days_in_the_middle_and_finer_levels_at_the_edges() -> None:
    start, end = datetime(2026, 11, 1, 22, 30, 15, tzinfo=UTC), datetime(2026, 11, 4, 1, 2, 3, tzinfo=UTC)
    assert cover(start, end) == [
        Piece("raw", start, datetime(2026, 11, 1, 22, 31, tzinfo=UTC)),
        Piece("minute", datetime(2026, 11, 1, 22, 31, tzinfo=UTC), datetime(2026, 11, 1, 23, tzinfo=UTC)),
        Piece("hour", datetime(2026, 11, 1, 23, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC)),
        Piece("day", datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC)),
        Piece("hour", datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 4, 1, tzinfo=UTC)),
        Piece("minute", datetime(2026, 11, 4, 1, tzinfo=UTC), datetime(2026, 11, 4, 1, 2, tzinfo=UTC)),
        Piece("raw", datetime(2026, 11, 4, 1, 2, tzinfo=UTC), end),
    ]


@given(instants, instants, st.sets(st.sampled_from(list(LEVELS))))
def test_pieces_tile_the_range_exactly_and_are_aligned(a: datetime, b: datetime, levels: set[str]) -> None:
    start, end = min(a, b), max(a, b)
    pieces = cover(start, end, tuple(levels))
    assert all(piece.source in (*levels, "raw") for piece in pieces)
    if start == end:
        assert pieces == []
        return
    assert pieces[0].start == start and pieces[-1].end == end
    assert all(left.end == right.start for left, right in pairwise(pieces))
    for piece in pieces:
        assert piece.start < piece.end
        if piece.source != "raw":
            assert is_aligned(piece.start, piece.source) and is_aligned(piece.end, piece.source)


def test_hourly_series_never_use_day_rows_and_odd_offsets_skip_hours() -> None:
    hours = [BASE + timedelta(hours=h) for h in range(5)]
    assert levels_for_buckets(hours, 3600) == ("minute", "hour")
    half_hours = [BASE + timedelta(hours=h, minutes=30) for h in range(3)]  # e.g. India's local midnights
    assert levels_for_buckets(half_hours, 86400) == ("minute",)
