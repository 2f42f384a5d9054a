"""Mergeable sketches kept in rollups: pure maths, no database.

Quantiles: values go to logarithmic buckets whose bounds grow by a factor GAMMA, so that any value
stands in for its whole bucket with a relative error of at most RELATIVE_ACCURACY (the DDSketch
construction). A bucket is an integer key; merging two sketches adds their counts key by key. Keys
are computed in SQL (KEY_SQL) when rolling up and in Python here; both use the same formula.

Cardinality: the distinct 64-bit hashes while there are at most EXACT_LIMIT of them (so small counts
are exact), then a HyperLogLog of 2**PRECISION registers, estimated with Ertl's improved estimator
(standard error about 1.04 / sqrt(2**PRECISION) = 0.6%; no bias tables needed). Hashes come from
PostgreSQL's `hashtextextended(text, 0)`, so every path hashes alike.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

RELATIVE_ACCURACY = 0.01
GAMMA = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
LOG_GAMMA = math.log(GAMMA)
# Magnitudes below this count as zero: their relative error is unbounded, their absolute error tiny.
MIN_MAGNITUDE = 1e-9
# Positive values get keys around +KEY_OFFSET, negative ones around -KEY_OFFSET, zero gets 0, so that
# keys sort in the same order as the values they stand for.
KEY_OFFSET = 100_000

KEY_SQL = f"""(CASE WHEN {{v}} > {MIN_MAGNITUDE!r} THEN {KEY_OFFSET} + ceil(ln({{v}}) / {LOG_GAMMA!r})
                    WHEN {{v}} < -{MIN_MAGNITUDE!r} THEN -{KEY_OFFSET} - ceil(ln(-{{v}}) / {LOG_GAMMA!r})
                    ELSE 0 END)::int"""

EXACT_LIMIT = 1024
PRECISION = 15
REGISTERS = 1 << PRECISION
HASH_BITS = 64
REST_BITS = HASH_BITS - PRECISION  # bits left after the register index, whose leading zeros are counted
HASH_SQL = "hashtextextended({v}, 0)"


def key_sql(column: str) -> str:
    return KEY_SQL.format(v=column)


def value_key(value: float) -> int:
    if value > MIN_MAGNITUDE:
        return KEY_OFFSET + math.ceil(math.log(value) / LOG_GAMMA)
    if value < -MIN_MAGNITUDE:
        return -KEY_OFFSET - math.ceil(math.log(-value) / LOG_GAMMA)
    return 0


def key_value(key: int) -> float:
    """The value a bucket stands for: within RELATIVE_ACCURACY of every value in the bucket."""
    if key == 0:
        return 0.0
    exponent = abs(key) - KEY_OFFSET
    magnitude = 2 * GAMMA**exponent / (GAMMA + 1)
    return magnitude if key > 0 else -magnitude


def quantile(
    counts: Mapping[int, int], fraction: float, minimum: float | None = None, maximum: float | None = None
) -> float | None:
    """The `fraction` quantile, interpolated between neighbouring ranks like `percentile_cont`.

    Each rank's value is within RELATIVE_ACCURACY of the true one, so is the interpolation (for values
    of one sign). The exact minimum and maximum, when known, bound the answer.
    """
    total = sum(counts.values())
    if total == 0:
        return None
    ordered = sorted(counts.items())

    def value_at(index: int) -> float:
        seen = 0
        for key, count in ordered:
            seen += count
            if seen > index:
                return key_value(key)
        return key_value(ordered[-1][0])

    rank = fraction * (total - 1)
    lower_rank = math.floor(rank)
    lower, upper = value_at(lower_rank), value_at(min(lower_rank + 1, total - 1))
    answer = lower + (rank - lower_rank) * (upper - lower)
    if minimum is not None:
        answer = max(answer, minimum)
    if maximum is not None:
        answer = min(answer, maximum)
    return answer


def merge_counts(target: dict[int, int], keys: Iterable[int], counts: Iterable[int]) -> None:
    for key, count in zip(keys, counts, strict=True):
        target[key] = target.get(key, 0) + count


@dataclass
class Cardinality:
    """Distinct hashes, exact while few, a HyperLogLog sketch beyond EXACT_LIMIT."""

    hashes: set[int] = field(default_factory=set)
    registers: np.ndarray | None = None

    @classmethod
    def from_stored(cls, hashes: Iterable[int] | None, registers: bytes | None) -> "Cardinality":
        sketch = cls()
        sketch.add_hashes(hashes or ())
        if registers is not None:
            sketch.merge_registers(np.frombuffer(registers, dtype=np.uint8))
        return sketch

    def add_hashes(self, hashes: Iterable[int]) -> None:
        if self.registers is None:
            self.hashes.update(hashes)
            if len(self.hashes) > EXACT_LIMIT:
                self._switch_to_registers()
        else:
            self.registers = np.maximum(self.registers, registers_of(hashes))

    def merge(self, other: "Cardinality") -> None:
        self.add_hashes(other.hashes)
        if other.registers is not None:
            self.merge_registers(other.registers)

    def merge_registers(self, registers: np.ndarray) -> None:
        if self.registers is None:
            self._switch_to_registers()
        assert self.registers is not None
        self.registers = np.maximum(self.registers, registers)

    def _switch_to_registers(self) -> None:
        self.registers = registers_of(self.hashes)
        self.hashes = set()

    def estimate(self) -> int:
        if self.registers is None:
            return len(self.hashes)
        return round(estimate_registers(self.registers))

    def stored(self) -> tuple[list[int] | None, bytes | None]:
        """(hashes, registers) as the rollup columns keep them; exactly one is set when not empty."""
        if self.registers is not None:
            return None, self.registers.astype(np.uint8).tobytes()
        return (sorted(self.hashes), None) if self.hashes else (None, None)


def registers_of(hashes: Iterable[int]) -> np.ndarray:
    """HyperLogLog registers of signed 64-bit hashes: top bits pick a register, the rest's leading
    zeros (plus one) are its candidate value."""
    values = np.fromiter(hashes, dtype=np.int64).view(np.uint64)
    registers = np.zeros(REGISTERS, dtype=np.uint8)
    if values.size == 0:
        return registers
    index = (values >> np.uint64(REST_BITS)).astype(np.int64)
    rest = values & np.uint64((1 << REST_BITS) - 1)
    # frexp gives the bit length exactly: rest < 2**53 converts to float64 without rounding.
    _, bit_length = np.frexp(rest.astype(np.float64))
    ranks = (REST_BITS - bit_length + 1).astype(np.uint8)
    np.maximum.at(registers, index, ranks)
    return registers


def estimate_registers(registers: np.ndarray) -> float:
    """Ertl (2017), "New cardinality estimation algorithms for HyperLogLog sketches", the improved
    raw estimator: unbiased from empty to very large without empirical corrections."""
    histogram = np.bincount(registers, minlength=REST_BITS + 2).astype(np.float64)
    m = float(REGISTERS)
    z = m * _tau(1 - histogram[REST_BITS + 1] / m)
    for k in range(REST_BITS, 0, -1):
        z = 0.5 * (z + histogram[k])
    z += m * _sigma(histogram[0] / m)
    return m * m / (2 * math.log(2) * z)


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if z == previous:
            return z


def _tau(x: float) -> float:
    if x in (0.0, 1.0):
        return 0.0
    y, z = 1.0, 1 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if z == previous:
            return z / 3
