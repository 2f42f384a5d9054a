"""Histogram maths for OTLP: increments between cumulative reports, and buckets to distribution values.

Pure functions. A histogram is kept in the dict form flux.otlp.convert builds: explicit ones as
{"bounds", "counts", "min", "max"}, exponential ones as {"scale", "zero", "positive": [offset, counts],
"negative": [offset, counts], "min", "max"}.

Flux stores a distribution as its values, so each bucket's count becomes that many values spread evenly
across the bucket (the uniform-within-bucket assumption of Prometheus's histogram_quantile); the first
and last explicit buckets are open and use the point's min and max when it has them. Quantiles are then
exact up to the bucket's width (explicit buckets) or a relative 2**(2**-scale) - 1 (exponential ones:
0.07% at the SDK's default scale 20, 9% at scale 3), plus the quantile sketch's 1% once rolled up.
"""

import math

EXPLICIT_KEYS = ("bounds", "counts")


def is_exponential(histogram: dict) -> bool:
    return "scale" in histogram


def increment(previous: dict | None, current: dict) -> dict:
    """What `current` (counts since the stream's start) adds to `previous`; all of it after a restart."""
    if previous is None or is_exponential(previous) != is_exponential(current):
        return current
    if is_exponential(current):
        return exponential_increment(previous, current)
    if previous["bounds"] != current["bounds"] or len(previous["counts"]) != len(current["counts"]):
        return current
    counts = [now - before for now, before in zip(current["counts"], previous["counts"], strict=True)]
    if any(count < 0 for count in counts):
        return current  # counts went down: the process restarted without a new start time
    return {**current, "counts": counts, "extremes_exact": False}


def indexed(offset_counts: list, shift: int) -> dict[int, int]:
    offset, counts = offset_counts
    buckets: dict[int, int] = {}
    for position, count in enumerate(counts):
        if count:
            index = (offset + position) >> shift  # lowering the scale by `shift` merges 2**shift buckets
            buckets[index] = buckets.get(index, 0) + count
    return buckets


def exponential_increment(previous: dict, current: dict) -> dict:
    scale = min(previous["scale"], current["scale"])
    result = {"scale": scale, "zero": current["zero"] - previous["zero"], "min": current["min"], "max": current["max"],
              "extremes_exact": False}  # fmt: skip
    for side in ("positive", "negative"):
        now = indexed(current[side], current["scale"] - scale)
        before = indexed(previous[side], previous["scale"] - scale)
        if any(now.get(index, 0) < count for index, count in before.items()):
            return current
        difference = {index: count - before.get(index, 0) for index, count in now.items()}
        low = min(difference, default=0)
        result[side] = [low, [difference.get(index, 0) for index in range(low, max(difference, default=-1) + 1)]]
    if result["zero"] < 0:
        return current
    return result


def spans(histogram: dict) -> list[tuple[float, float, int]]:
    """(low, high, count) of every non-empty bucket, open ends closed by min/max when known."""
    if is_exponential(histogram):
        return exponential_spans(histogram)
    bounds, counts = histogram["bounds"], histogram["counts"]
    minimum, maximum = histogram["min"], histogram["max"]
    result = []
    for position, count in enumerate(counts):
        if not count:
            continue
        if not bounds:
            low = minimum if minimum is not None else (maximum if maximum is not None else 0.0)
            high = maximum if maximum is not None else low
        elif position == 0:
            high = bounds[0]
            low = minimum if minimum is not None and minimum <= high else high
        elif position >= len(bounds):
            low = bounds[-1]
            high = maximum if maximum is not None and maximum >= low else low
        else:
            low, high = bounds[position - 1], bounds[position]
        result.append((low, high, count))
    return clamp(result, minimum, maximum)


def exponential_spans(histogram: dict) -> list[tuple[float, float, int]]:
    base_exponent = 2.0 ** -histogram["scale"]

    def power(index: int) -> float:
        try:
            return 2.0 ** (index * base_exponent)
        except OverflowError:
            return math.inf

    result = []
    if histogram["zero"]:
        result.append((0.0, 0.0, histogram["zero"]))
    offset, counts = histogram["positive"]
    result += [(power(offset + i), power(offset + i + 1), n) for i, n in enumerate(counts) if n]
    offset, counts = histogram["negative"]
    result += [(-power(offset + i + 1), -power(offset + i), n) for i, n in enumerate(counts) if n]
    return clamp(result, histogram["min"], histogram["max"])


def clamp(spans_: list, minimum: float | None, maximum: float | None) -> list[tuple[float, float, int]]:
    low_limit = -math.inf if minimum is None else minimum
    high_limit = math.inf if maximum is None else maximum
    clamped = []
    for low, high, count in spans_:
        low, high = min(max(low, low_limit), high_limit), max(min(high, high_limit), low_limit)
        clamped.append((low, high, count))
    return [(low, high, count) for low, high, count in clamped if math.isfinite(low) and math.isfinite(high)]


def sampled_counts(counts: list[int], limit: int) -> list[int]:
    """Counts scaled down to total `limit` when they exceed it, each bucket keeping its share (largest
    remainders get the rounding), so quantiles hold while count and sum describe the sample."""
    total = sum(counts)
    if total <= limit:
        return counts
    shares = [count * limit / total for count in counts]
    result = [math.floor(share) for share in shares]
    by_remainder = sorted(range(len(counts)), key=lambda i: shares[i] - result[i], reverse=True)
    for i in by_remainder[: limit - sum(result)]:
        result[i] += 1
    return result


def values(histogram: dict, limit: int) -> tuple[list[float], bool]:
    """The distribution values standing for the histogram's observations, and whether they were sampled."""
    buckets = spans(histogram)
    counts = sampled_counts([count for _, _, count in buckets], limit)
    result = []
    for (low, high, _), count in zip(buckets, counts, strict=True):
        step = (high - low) / count if count else 0.0
        result.extend(low + step * (k + 0.5) for k in range(count))
    if result and histogram.get("extremes_exact", True):
        # A report's own min and max were observed: keep them exact (not those of a cumulative stream's life).
        result.sort()
        result[0] = result[0] if histogram["min"] is None else histogram["min"]
        result[-1] = result[-1] if histogram["max"] is None else histogram["max"]
    return result, sum(counts) < sum(count for _, _, count in buckets)
