"""One event name or metric over the last 24 hours, 7 or 30 days against the same length just before, in a
sentence: "user.signup events are up 23% week-over-week (1,234 vs 1,003). The rise started Tuesday around
14:00, after which the hourly rate stayed ~30% higher (52 vs 40 an hour)."

Reads through the apps' queries; the verdict (steady, up, down, not enough data) comes from
flux.insights.stats and the words from flux.insights.wording.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from events.queries import count_events, count_series
from flux.insights import facts
from flux.insights.periods import Period, get_period, period_ranges
from flux.insights.stats import Verdict, change_point, count_change, dispersion, welch
from flux.insights.wording import local_time, moment, number, percent, sentence
from flux.query.compare import Comparison, compare
from flux.query.event_filter import EventFilter
from flux.query.query_params import InvalidParameter
from flux.query.timerange import TimeRange, covered_seconds
from flux.tenants.models import Project
from flux.web.api import NotFound
from flux.web.serializers import iso
from metrics.models import Metric
from metrics.queries import DEFAULT_AGGREGATION, get_metric, metric_series, metric_summary, metric_value

MIN_EVENTS = 20  # both periods together; fewer cannot show a trend worth a sentence
MIN_HOURS = 6  # hours with data in each period, for a metric
HOUR = timedelta(hours=1)
KINDS = ("event", "metric")
AGGREGATION_NOUNS = {"avg": "average", "sum": "total", "unique": "unique count"}  # else the aggregation's name

# (start, end, level, label) -> the fact behind a change point's level before or after it
SegmentFact = Callable[[datetime, datetime, float, str], dict]


@dataclass(frozen=True)
class Subject:
    """What an insight talks about, and how to say it."""

    name: str
    kind: str
    aggregation: str | None
    title: str  # "user.signup events", "the average of queue.depth"
    verb: str  # "are", "is"
    hourly: str  # "hourly rate", "hourly average"
    unit: str  # " an hour" after an hourly event rate, nothing for metrics


@dataclass(frozen=True)
class Hourly:
    """Whole hours with data, oldest first (the cut hours at the edges of a range are left out)."""

    starts: list[datetime]
    values: list[float]

    def local_hours(self, zone: ZoneInfo) -> list[int]:
        return [start.astimezone(zone).hour for start in self.starts]


def full_hours(points: list[tuple[datetime, float | None]], time_range: TimeRange) -> Hourly:
    """The hourly points with a value whose hour lies wholly inside the range."""
    kept = [
        (start, float(value))
        for start, value in points
        if value is not None and covered_seconds(start, "1h", time_range) == HOUR.total_seconds()
    ]
    return Hourly([start for start, _ in kept], [value for _, value in kept])


def compare_insight(project: Project, name: str, period: str, now: datetime, kind: str | None = None) -> dict:
    """The sentence and its facts for an event name or a metric (a metric of that name wins unless `kind`)."""
    chosen = get_period(period)
    if kind not in (None, *KINDS):
        raise InvalidParameter("kind", "kind must be event or metric")
    metric = get_metric(project.pk, name) if kind != "event" else None
    if kind == "metric" and metric is None:
        raise NotFound(f"No metric named {name!r} in this project.")
    if metric is not None:
        return metric_insight(project, metric, chosen, now)
    return event_insight(project, name, chosen, now)


def event_insight(
    project: Project, name: str, period: Period, now: datetime, counts: tuple[int, int] | None = None
) -> dict:
    """How the count of an event name (or glob) changed; `counts` (now, before) saves counting when known."""
    zone = ZoneInfo(project.timezone)
    current, previous = period_ranges(period, now, zone)
    event_filter = EventFilter(name=name)
    if counts is None:
        comparison = compare(lambda time_range: count_events(project, time_range, event_filter), current, "previous")
    else:
        comparison = Comparison(counts[0], counts[1], previous)
    whole = TimeRange(previous.start, current.end, zone)
    hourly = full_hours(count_series(project, whole, event_filter, "1h"), whole)
    subject = Subject(name, "event", None, f"{name} events", "are", "hourly rate", " an hour")
    found = [
        facts.event_count(name, span.start, span.end, value, f"{name} events in {words}")
        for span, value, words in (
            (current, comparison.current, period.current),
            (previous, comparison.previous, period.previous),
        )
    ]
    result = frame(subject, period, current, comparison, found)
    counted, before = comparison.current, comparison.previous
    missing = missing_event_data(name, period, counted, before)
    if missing:
        return not_enough(result, missing)

    def segment(start: datetime, end: datetime, level: float, label: str) -> dict:
        count = round(level * ((end - start) / HOUR))
        return facts.event_count(name, start, end, count, f"{name} events {label} ({number(level)} an hour)")

    verdict = count_change(counted, before, dispersion(hourly.values))
    return conclude(result, subject, period, verdict, hourly, now, zone, segment)


def metric_insight(
    project: Project, metric: Metric, period: Period, now: datetime, points: tuple[int, int] | None = None
) -> dict:
    """How a metric's default aggregation changed; `points` (now, before) saves reading them when known."""
    zone = ZoneInfo(project.timezone)
    current, previous = period_ranges(period, now, zone)
    aggregation = DEFAULT_AGGREGATION[metric.type]

    def value(time_range: TimeRange) -> float | None:
        return metric_value(project.pk, metric, time_range, aggregation, {})

    comparison = compare(value, current, "previous")
    whole = TimeRange(previous.start, current.end, zone)
    hourly = full_hours(metric_series(project.pk, metric, whole, "1h", aggregation, {}, None, 1)[0].points, whole)
    noun = AGGREGATION_NOUNS.get(aggregation, aggregation)
    subject = Subject(metric.name, "metric", aggregation, f"the {noun} of {metric.name}", "is", f"hourly {noun}", "")
    title = f"{metric.name} ({noun})"
    found = [
        facts.metric_compare(metric.name, aggregation, current, field, value, f"{title} in {words}")
        for field, value, words in (
            ("current", comparison.current, period.current),
            ("previous", comparison.previous, period.previous),
        )
    ]
    result = frame(subject, period, current, comparison, found)
    earlier = [level for start, level in zip(hourly.starts, hourly.values, strict=True) if start < current.start]
    later = hourly.values[len(earlier) :]
    # Sums, counts and unique counts read 0 for an hour without points: ask for the points themselves.
    if points is None:
        points = (
            metric_summary(project.pk, metric, current)["points"],
            metric_summary(project.pk, metric, previous)["points"],
        )
    missing = missing_metric_data(metric.name, period, points, min(len(earlier), len(later)))
    if missing:
        return not_enough(result, missing)

    def segment(start: datetime, end: datetime, level: float, label: str) -> dict:
        return facts.metric_hourly_mean(
            metric.name, aggregation, start, end, level, f"{metric.name}, mean {subject.hourly} {label}"
        )

    verdict = welch(earlier, later)
    if verdict.significant and (sum(later) / len(later) > sum(earlier) / len(earlier)) != (
        comparison.current > comparison.previous
    ):
        verdict = Verdict(verdict.p_value, False)  # the hourly values and the whole-period value disagree
    return conclude(result, subject, period, verdict, hourly, now, zone, segment)


def missing_event_data(name: str, period: Period, counted: int, before: int) -> str | None:
    """Why an event name cannot be compared (no baseline, or too few events), if it cannot."""
    if counted + before == 0:
        return f"There were no {name} events in {period.current} or {period.previous}."
    if before == 0:
        return (
            f"{name} events: {number(counted)} in {period.current} and none in {period.previous}, "
            "so there is no baseline to compare against."
        )
    if counted + before < MIN_EVENTS:
        return (
            f"There are too few {name} events to tell a trend: {number(counted)} in {period.current} "
            f"against {number(before)} in {period.previous}."
        )
    return None


def missing_metric_data(name: str, period: Period, points: tuple[int, int], fewest_hours: int) -> str | None:
    """Why a metric cannot be compared (no points in a period, or too few hours with data), if it cannot."""
    current, previous = points
    if not current and not previous:
        return f"There is no {name} data in {period.current} or {period.previous}."
    if not previous:
        return f"{name} has data in {period.current} but none in {period.previous}, so there is no baseline."
    if not current:
        return f"{name} has no data in {period.current} (it had in {period.previous}), so there is nothing to compare."
    if fewest_hours < MIN_HOURS:
        return (
            f"There is too little {name} data to compare {period.over}: it needs {MIN_HOURS} hours with data in "
            f"{period.current} and in {period.previous}."
        )
    return None


def frame(subject: Subject, period: Period, current: TimeRange, comparison: Comparison, found: list[dict]) -> dict:
    """The answer before its verdict: what, when, the numbers and their facts (text still empty)."""
    before = comparison.earlier_range
    return {
        "name": subject.name, "kind": subject.kind, "aggregation": subject.aggregation, "period": period.name,
        "from": iso(current.start), "to": iso(current.end), "previous_from": iso(before.start),
        "previous_to": iso(before.end), "subject": subject.title, "text": "", "facts": found,
        "current": comparison.current, "previous": comparison.previous, "change_percent": comparison.change_percent,
        "significant": False, "verdict": "not_enough_data", "p_value": None, "change_start": None,
    }  # fmt: skip


def not_enough(result: dict, text: str) -> dict:
    """The answer when there is not enough data to judge a change."""
    return result | {"text": text}


def opening(subject: Subject) -> str:
    """The subject at the start of a sentence: an event name is kept as written, "the …" capitalised."""
    return sentence(subject.title) if subject.kind == "metric" else subject.title


def conclude(
    result: dict, subject: Subject, period: Period, verdict: Verdict, hourly: Hourly, now: datetime, zone: ZoneInfo,
    segment: SegmentFact,
) -> dict:  # fmt: skip
    """The text once there is enough data: steady, or up/down with when it started."""
    current, previous, change = result["current"], result["previous"], result["change_percent"]
    figures = f"{number(current)} vs {number(previous)}"
    result = result | {"p_value": verdict.p_value}
    if not verdict.significant or current == previous:
        text = (
            f"{opening(subject)} {subject.verb} steady {period.over} "
            f"({figures}; the difference is within normal variation)."
        )
        return result | {"text": text, "verdict": "steady"}
    direction = "up" if current > previous else "down"
    amount = f" {percent(change)}" if change is not None else ""
    text = f"{opening(subject)} {subject.verb} {direction}{amount} {period.over} ({figures})."
    change_start, segment_facts, how = started(subject, direction, hourly, now, zone, segment)
    return result | {
        "text": f"{text} {how}", "verdict": direction, "significant": True, "change_start": change_start,
        "facts": result["facts"] + segment_facts,
    }  # fmt: skip


def started(
    subject: Subject, direction: str, hourly: Hourly, now: datetime, zone: ZoneInfo, segment: SegmentFact
) -> tuple[dict | None, list[dict], str]:
    """When the change started (if one hour stands out), the facts of the levels around it, and the sentence."""
    change = "rise" if direction == "up" else "drop"
    point = change_point(hourly.values, hourly.local_hours(zone))
    if point is None or (point.after > point.before) != (direction == "up"):
        return None, [], f"The {change} did not start at one clear point in time."
    at, first, end = hourly.starts[point.index], hourly.starts[0], hourly.starts[-1] + HOUR
    when = moment(at, now, zone)
    levels = f"({number(point.after)} vs {number(point.before)}{subject.unit})"
    if point.before:
        relative = (point.after - point.before) / abs(point.before) * 100
        how = f"after which the {subject.hourly} stayed ~{percent(relative)} {'higher' if relative > 0 else 'lower'}"
    else:
        relative = None
        how = f"after which the {subject.hourly} stayed at {number(point.after)}{subject.unit}, from 0"
        levels = ""
    found = [
        segment(first, at, point.before, f"from {local_time(first, zone)} to {local_time(at, zone)}"),
        segment(at, end, point.after, f"from {local_time(at, zone)} to {local_time(end, zone)}"),
    ]
    change_start = {
        "at": iso(at), "text": when, "before": point.before, "after": point.after, "change_percent": relative,
    }  # fmt: skip
    return change_start, found, f"The {change} started {when}, {how}{f' {levels}' if levels else ''}."
