"""Partial aggregates of values (metric points, event values): what rollup rows and raw rows both
reduce to, merged per output bucket and finished into the value an aggregation asks for. Pure."""

from dataclasses import dataclass, field
from datetime import datetime

from flux.query.sketches import Cardinality, merge_counts, quantile

PERCENTILES = {"p50": 0.5, "p75": 0.75, "p90": 0.9, "p95": 0.95, "p99": 0.99, "p999": 0.999}


@dataclass
class Partial:
    count: int = 0
    sum: float = 0.0
    min: float | None = None
    max: float | None = None
    last: float | None = None
    last_time: datetime | None = None
    sketch: dict[int, int] = field(default_factory=dict)
    members: Cardinality = field(default_factory=Cardinality)

    def add_totals(
        self, count: int, total: float | None, minimum: float | None, maximum: float | None,
        last: float | None = None, last_time: datetime | None = None,
    ) -> None:  # fmt: skip
        if not count:
            return
        assert total is not None and minimum is not None and maximum is not None
        self.count += count
        self.sum += total
        self.min = minimum if self.min is None else min(self.min, minimum)
        self.max = maximum if self.max is None else max(self.max, maximum)
        # The raw path's tie-break: the latest point, and of points at one instant the largest value.
        if last_time is not None and (self.last_time is None or (last_time, last) > (self.last_time, self.last)):
            self.last, self.last_time = last, last_time

    def add_sketch(self, keys: list[int], counts: list[int]) -> None:
        merge_counts(self.sketch, keys, counts)

    def add_members(self, hashes: list[int] | None, registers: bytes | None) -> None:
        self.members.merge(Cardinality.from_stored(hashes, registers))

    @property
    def volume(self) -> int:
        """How many values went in, whichever parts were read: what groups are ranked by."""
        return self.count or sum(self.sketch.values())

    def merge(self, other: "Partial") -> None:
        self.add_totals(other.count, other.sum, other.min, other.max, other.last, other.last_time)
        merge_counts(self.sketch, other.sketch.keys(), other.sketch.values())
        self.members.merge(other.members)

    def value(self, aggregation: str, seconds: float) -> float | None:
        """The aggregation's answer; `seconds` is the time the bucket covers (for rates)."""
        if aggregation == "count":
            return float(self.count)
        if aggregation in ("sum", "rate"):
            return self.sum / seconds if aggregation == "rate" else self.sum
        if aggregation == "unique":
            return float(self.members.estimate())
        if aggregation in PERCENTILES:  # read with or without the totals (they only bound the answer)
            return quantile(self.sketch, PERCENTILES[aggregation], self.min, self.max)
        if not self.count:
            return None
        if aggregation == "avg":
            return self.sum / self.count
        return {"last": self.last, "min": self.min, "max": self.max}[aggregation]
