"""StatsD and DogStatsD lines to samples: plain functions, no I/O, cheap enough to run per packet.

    name:value|type[|@sample_rate][|#tag:value,tag2][|c:container][|T1700000000]

Types: c (counter), g (gauge; a leading + or - makes it a change of the last value, as in StatsD),
ms/h/d (timer, histogram, distribution: all become Flux distributions), s (set). DogStatsD's
`name:1:2:3|d` (several values in one line) is accepted. Events (`_e{…}`) and service checks (`_sc|…`)
are recognised and ignored.
"""

import math
from dataclasses import dataclass

KIND_BY_TYPE = {"c": "counter", "g": "gauge", "ms": "distribution", "h": "distribution", "d": "distribution"}
KIND_BY_TYPE["s"] = "set"
Tags = tuple[tuple[str, str], ...]  # sorted (key, value) pairs: hashable, one per series


class BadLine(ValueError):
    """A line that is not StatsD; the message says why, for ingestion health."""


class IgnoredLine(Exception):
    """A well-formed DogStatsD event or service check: Flux counts it and moves on."""


@dataclass(frozen=True, slots=True)
class Sample:
    kind: str  # counter, gauge, distribution or set
    name: str
    tags: Tags
    values: tuple[float, ...]  # counters: already divided by the sample rate
    member: str | None = None  # sets
    gauge_delta: bool = False


def parse_tags(text: str) -> Tags:
    """`k:v,k2:v2,flag` to sorted pairs; a tag without a value gets the value "true"."""
    pairs = {}
    for tag in text.split(","):
        key, separator, value = tag.partition(":")
        key = key.strip()
        if not key:
            continue
        pairs[key] = value.strip() if separator else "true"
    return tuple(sorted(pairs.items()))


def parse_number(text: str, line: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise BadLine(f"value {text[:40]!r} is not a number in {line[:120]!r}") from None
    if not math.isfinite(number):
        raise BadLine(f"value {text[:40]!r} is not finite in {line[:120]!r}")
    return number


def parse_rate(text: str, line: str) -> float:
    rate = parse_number(text, line)
    if not 0 < rate <= 1:
        raise BadLine(f"sample rate {text[:20]!r} must be in (0, 1] in {line[:120]!r}")
    return rate


def parse_line(line: str) -> Sample:
    """One StatsD line to a Sample; raises BadLine (with the reason) or IgnoredLine."""
    if line.startswith(("_e{", "_sc|")):
        raise IgnoredLine
    name, colon, rest = line.partition(":")
    name = name.strip()
    if not colon or not name:
        raise BadLine(f"expected name:value|type in {line[:120]!r}")
    sections = rest.split("|")
    if len(sections) < 2:
        raise BadLine(f"missing |type in {line[:120]!r}")
    raw_value, metric_type = sections[0].strip(), sections[1].strip()
    kind = KIND_BY_TYPE.get(metric_type)
    if kind is None:
        raise BadLine(f"unknown type {metric_type[:10]!r} in {line[:120]!r}")
    rate, tags = 1.0, ()
    for section in sections[2:]:
        if section.startswith("@"):
            rate = parse_rate(section[1:], line)
        elif section.startswith("#"):
            tags = parse_tags(section[1:])
        # Other DogStatsD sections (c: container id, T timestamp, e: external data) do not apply here.
    if not raw_value:
        raise BadLine(f"empty value in {line[:120]!r}")
    if kind == "set":
        return Sample(kind, name, tags, (1.0,), member=raw_value)
    if kind == "distribution":
        return Sample(kind, name, tags, tuple(parse_number(part, line) for part in raw_value.split(":")))
    value = parse_number(raw_value, line)
    if kind == "counter":
        return Sample(kind, name, tags, (value / rate,))
    return Sample(kind, name, tags, (value,), gauge_delta=raw_value[0] in "+-")


def split_packet(packet: bytes) -> list[str]:
    """A datagram's lines (newline separated; blank lines and \\r dropped); undecodable bytes become U+FFFD."""
    return [line for line in packet.decode("utf-8", "replace").replace("\r", "").split("\n") if line.strip()]
