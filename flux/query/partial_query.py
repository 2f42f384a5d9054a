"""Values reduced to partial aggregates (flux.query.partials) per group and output bucket, read from
rollups up to the watermark and from raw rows for the sub-minute edges of the range and for
everything received after the watermark (late data included). Equal to a raw scan: exactly for
count/sum/min/max/last/avg and small sets, within the sketch error for percentiles and large sets.

Metrics and events each describe their tables with a Source; the SQL shape is shared here.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flux.query.db import fetch_all, read_snapshot
from flux.query.partials import Partial
from flux.query.rollup_cover import Piece, cover, levels_for_interval, ranges_condition
from flux.query.rollup_job import current_watermark
from flux.query.sketches import HASH_SQL, key_sql
from flux.query.timerange import TimeRange, bucket_sql

Key = tuple[str | None, datetime | None]  # (group, bucket start)

TOTALS = "totals"
SKETCH = "sketch"
MEMBERS = "members"


@dataclass(frozen=True)
class Source:
    """Where one kind of value lives. Rollup rows are aliased `r`, raw rows `p`; the FROM parts may
    join more tables, and `group_sql` (with `group_params`) may read any of them."""

    stream: str
    rollup_from: str
    rollup_where: str  # must scope to the project
    rollup_params: list[Any]
    rollup_totals: str  # count, sum, min, max, last, last_time
    rollup_sketch: str  # keys array, counts array
    rollup_members: str  # hashes array, registers
    raw_from: str
    raw_where: str  # must scope to the project
    raw_params: list[Any]
    raw_value: str
    raw_member: str
    raw_last: str  # last, last_time for one raw row
    group_sql: str = "NULL::text"
    group_params: tuple[Any, ...] = ()


def read_partials(source: Source, time_range: TimeRange, interval: str | None, needs: set[str]) -> dict[Key, Partial]:
    """Partials keyed by (group or None, bucket start or None); `needs` picks which parts to read."""
    with read_snapshot():
        watermark = current_watermark(source.stream)
        levels = levels_for_interval(time_range, interval)
        pieces = cover(time_range.start, time_range.end, levels if watermark else ())
        query = PartialQuery(source, time_range, interval, pieces, watermark)
        partials: dict[Key, Partial] = defaultdict(Partial)
        if TOTALS in needs:
            for group, bucket, *totals in query.totals():
                partials[group, bucket].add_totals(*totals)
        if SKETCH in needs:
            for group, bucket, keys, counts in query.sketches():
                partials[group, bucket].add_sketch(keys, counts)
        if MEMBERS in needs:
            for group, bucket, hashes, registers in query.members():
                partials[group, bucket].add_members(hashes, registers)
    return partials


class PartialQuery:
    """The SQL of read_partials: each read is one UNION ALL of rollup rows and raw rows."""

    def __init__(
        self, source: Source, time_range: TimeRange, interval: str | None, pieces: list[Piece],
        watermark: datetime | None,
    ) -> None:  # fmt: skip
        self.source = source
        self.rolled = [piece for piece in pieces if piece.source != "raw"]
        self.raw = [piece for piece in pieces if piece.source == "raw"]
        self.watermark = watermark
        if interval:
            self.bucket_sql, self.bucket_params = bucket_sql(interval, time_range, "t")
        else:
            self.bucket_sql, self.bucket_params = "NULL::timestamptz", []

    def rollup_rows(self, columns: str, lateral: str = "") -> tuple[str, list[Any]]:
        if not self.rolled:
            return "", []
        source = self.source
        ranges, range_params = ranges_condition(self.rolled, "r.bucket", with_level=True, level_column="r.level")
        sql = f"""SELECT {source.group_sql} AS g, r.bucket AS t, {columns} FROM {source.rollup_from} {lateral}
                  WHERE {source.rollup_where} AND ({ranges})"""
        return sql, [*source.group_params, *source.rollup_params, *range_params]

    def raw_rows(self, columns: str, present: str) -> tuple[str, list[Any]]:
        source = self.source
        base = f"""SELECT {source.group_sql} AS g, p.time AS t, {columns} FROM {source.raw_from}
                   WHERE {source.raw_where} AND {present} IS NOT NULL"""
        base_params = [*source.group_params, *source.raw_params]
        parts, params = [], []
        if self.raw:
            ranges, range_params = ranges_condition(self.raw, "p.time", with_level=False)
            parts.append(f"{base} AND ({ranges})")
            params += [*base_params, *range_params]
        if self.rolled:
            # Received after the watermark (new or late rows) in the part the rollups answered.
            ranges, range_params = ranges_condition(self.rolled, "p.time", with_level=False)
            parts.append(f"{base} AND p.received_at > %s AND ({ranges})")
            params += [*base_params, self.watermark, *range_params]
        return " UNION ALL ".join(parts), params

    @staticmethod
    def union(*parts: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
        present = [part for part in parts if part[0]]
        return " UNION ALL ".join(sql for sql, _ in present), [param for _, params in present for param in params]

    def totals(self) -> list[tuple]:
        value = self.source.raw_value
        rows_sql, params = self.union(
            self.rollup_rows(self.source.rollup_totals),
            self.raw_rows(f"1::bigint, {value}, {value}, {value}, {self.source.raw_last}", value),
        )
        return fetch_all(
            f"""SELECT g, {self.bucket_sql}, sum(count)::bigint, sum(sum), min(min), max(max),
                       (array_agg(last ORDER BY last_time DESC, last DESC))[1], max(last_time)
                FROM ({rows_sql}) AS rows (g, t, count, sum, min, max, last, last_time) GROUP BY 1, 2""",
            [*self.bucket_params, *params],
        )

    def sketches(self) -> list[tuple]:
        value = self.source.raw_value
        rows_sql, params = self.union(
            self.rollup_rows("u.key, u.n", f"CROSS JOIN LATERAL unnest({self.source.rollup_sketch}) AS u(key, n)"),
            self.raw_rows(f"{key_sql(value)}, 1::bigint", value),
        )
        return fetch_all(
            f"""SELECT g, b, array_agg(key ORDER BY key), array_agg(n ORDER BY key) FROM (
                    SELECT g, {self.bucket_sql} AS b, key, sum(n)::bigint AS n
                    FROM ({rows_sql}) AS rows (g, t, key, n) GROUP BY 1, 2, 3
                ) AS keyed GROUP BY 1, 2""",
            [*self.bucket_params, *params],
        )

    def members(self) -> list[tuple]:
        member = self.source.raw_member
        rolled_sql, rolled_params = self.rollup_rows(self.source.rollup_members)
        raw_sql, raw_params = self.raw_rows(HASH_SQL.format(v=member), member)
        rows = []
        if rolled_sql:
            rows += fetch_all(
                f"SELECT g, {self.bucket_sql}, hashes, registers FROM ({rolled_sql}) AS rows (g, t, hashes, registers)",
                [*self.bucket_params, *rolled_params],
            )
        if raw_sql:
            rows += fetch_all(
                f"""SELECT g, {self.bucket_sql}, array_agg(DISTINCT hash), NULL::bytea
                    FROM ({raw_sql}) AS rows (g, t, hash) GROUP BY 1, 2""",
                [*self.bucket_params, *raw_params],
            )
        return rows
