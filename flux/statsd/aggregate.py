"""In-memory aggregation between flushes: one point per counter and gauge series, one per distinct set
member, every distribution value (up to a cap per series), so a busy app's thousands of packets a
second become a small batch every flush interval.
"""

import threading
from dataclasses import dataclass, field

from flux.statsd.parse import BadLine, IgnoredLine, Sample, Tags, parse_line, split_packet

SeriesKey = tuple[str, Tags]  # (name, tags)
BAD_LINE_EXAMPLES_KEPT = 5


@dataclass
class Counts:
    """What the listener saw since it started (for its log) or in one flush window (for ingestion health)."""

    packets: int = 0
    lines: int = 0
    bad_lines: int = 0
    ignored_lines: int = 0  # DogStatsD events and service checks
    dropped_values: int = 0  # distribution values or set members past the per-series cap
    points_stored: int = 0  # filled in by the flushes
    # Monotonic time of the last "lines dropped" warning (at most one a minute): not a count, so neither added
    # up (summed, it fell by 1e9 a flush, and the warning came every flush) nor logged with the counts.
    warned_at: float = field(default=-1e9, repr=False)

    def add(self, other: "Counts") -> None:
        for name in vars(self):
            if name != "warned_at":
                setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class Window:
    """Everything received in one flush interval."""

    counters: dict[SeriesKey, float] = field(default_factory=dict)
    gauges: dict[SeriesKey, float] = field(default_factory=dict)
    distributions: dict[SeriesKey, list[float]] = field(default_factory=dict)
    sets: dict[SeriesKey, set[str]] = field(default_factory=dict)
    counts: Counts = field(default_factory=Counts)
    bad_line_examples: list[str] = field(default_factory=list)

    def metric_items(self) -> list[dict]:
        """The window as metric points in the JSON API's shape (timestamps absent: the flush time)."""
        items = [point("counter", key, value) for key, value in self.counters.items()]
        items += [point("gauge", key, value) for key, value in self.gauges.items()]
        items += [point("distribution", key, value) for key, values in self.distributions.items() for value in values]
        items += [point("set", key, member) for key, members in self.sets.items() for member in sorted(members)]
        return items


def point(metric_type: str, key: SeriesKey, value: object) -> dict:
    name, tags = key
    return {"type": metric_type, "name": name, "tags": dict(tags), "value": value}


class Aggregator:
    """Adds packets to the current window; `take()` hands it over and starts a new one.

    Packets arrive on the listener's event loop and flushes run on another thread, hence the lock (taken
    once per packet, uncontended almost always). Gauge values outlive windows: `+3` needs the last value.
    """

    MAX_VALUES_PER_SERIES = 10_000  # per window: distribution values, set members
    MAX_GAUGES_REMEMBERED = 100_000

    def __init__(self, signed_gauges: str = "delta") -> None:
        # StatsD's `-3|g` lowers a gauge by 3; DogStatsD has no changes, and its clients send a gauge of -3 so.
        self.signed_gauges_change = signed_gauges == "delta"
        self.lock = threading.Lock()
        self.window = Window()
        self.last_gauges: dict[SeriesKey, float] = {}
        self.received_total = 0  # packets since start, across windows

    def add_packet(self, packet: bytes) -> None:
        self.add_packets([packet])

    def add_packets(self, packets: list[bytes]) -> None:
        with self.lock:
            window = self.window
            window.counts.packets += len(packets)
            self.received_total += len(packets)
            for packet in packets:
                lines = split_packet(packet)
                window.counts.lines += len(lines)
                for line in lines:
                    try:
                        self.add_sample(window, parse_line(line))
                    except IgnoredLine:
                        window.counts.ignored_lines += 1
                    except BadLine as error:
                        window.counts.bad_lines += 1
                        if len(window.bad_line_examples) < BAD_LINE_EXAMPLES_KEPT:
                            window.bad_line_examples.append(str(error))

    def add_sample(self, window: Window, sample: Sample) -> None:
        key = (sample.name, sample.tags)
        if sample.kind == "counter":
            window.counters[key] = window.counters.get(key, 0.0) + sample.values[0]
        elif sample.kind == "gauge":
            change = sample.gauge_delta and self.signed_gauges_change
            value = self.last_gauges.get(key, 0.0) + sample.values[0] if change else sample.values[0]
            if key not in self.last_gauges and len(self.last_gauges) >= self.MAX_GAUGES_REMEMBERED:
                self.last_gauges.clear()  # a runaway tag; deltas then restart from 0, as after a restart
            self.last_gauges[key] = window.gauges[key] = value
        elif sample.kind == "distribution":
            values = window.distributions.setdefault(key, [])
            room = self.MAX_VALUES_PER_SERIES - len(values)
            values.extend(sample.values[:room])
            window.counts.dropped_values += max(0, len(sample.values) - room)
        else:
            members = window.sets.setdefault(key, set())
            if len(members) < self.MAX_VALUES_PER_SERIES or sample.member in members:
                members.add(sample.member)
            else:
                window.counts.dropped_values += 1

    def take(self) -> Window:
        with self.lock:
            window, self.window = self.window, Window()
        return window
