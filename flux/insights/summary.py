"""A project's last 24 hours, 7 or 30 days in a few sentences: what came in, the biggest movers against the
period before, the anomalies open during it, and the event names and metrics first seen in it. Every
number is a fact with the API query that gives it (flux.insights.facts)."""

import math
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from anomalies.models import SEVERITY_RANK, Anomaly
from anomalies.openapi import LIST_LIMIT_MAX
from anomalies.queries import AnomalyFilter, list_anomalies
from events.queries import count_groups, count_series
from flux.insights import facts
from flux.insights.compare import event_insight, full_hours, metric_insight
from flux.insights.periods import Period, get_period, period_ranges
from flux.insights.stats import count_change, dispersion
from flux.insights.wording import joined, moment, number, percent, plural, trend
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.tenants.models import Project
from flux.web.serializers import iso
from metrics.models import Metric
from metrics.queries import points_per_metric

ALL_NAMES = 1000  # event names compared; beyond them the rest is one `__other__` group (counted in totals)
MIN_MOVER_EVENTS = 50  # a name needs this many events in both periods together to be a mover
EVENT_CANDIDATES = 6  # names checked with the full insight, the largest relative changes first
BUSIEST_METRICS = 5  # metrics compared, those with the most points in the period
MAX_MOVERS = 3
MAX_NEW = 5
SEVERITIES = ("critical", "warning", "info")
KIND_WORDS = {"level_shift": "level shift", "trend_change": "trend change"}


def project_summary(project: Project, period: str, now: datetime) -> dict:
    """The summary's text and facts, with the parts it was built from."""
    chosen = get_period(period)
    zone = ZoneInfo(project.timezone)
    current, previous = period_ranges(chosen, now, zone)
    history = TimeRange(current.start - timedelta(days=project.retention_days), current.start, zone)
    names_now, names_before = name_counts(project, current), name_counts(project, previous)
    volume_text, volume = events_volume(project, chosen, current, previous, names_now, names_before)
    movers_text, movers = biggest_movers(project, chosen, (current, previous), now, names_now, names_before)
    anomalies_text, anomalies = open_anomalies(project, chosen, current, now)
    new_text, new = first_seen(project, chosen, current, history, names_now)
    sentences = [volume_text, movers_text, anomalies_text, new_text]
    return {
        "period": chosen.name, "from": iso(current.start), "to": iso(current.end),
        "previous_from": iso(previous.start), "previous_to": iso(previous.end),
        "text": " ".join(text for text, _ in sentences if text),
        "facts": [fact for _, found in sentences for fact in found],
        "events": volume, "movers": movers, "anomalies": anomalies, "new": new,
    }  # fmt: skip


Sentence = tuple[str, list[dict]]


def name_counts(project: Project, time_range: TimeRange) -> Counter[str]:
    """Events per name in the range; `__other__` (names beyond ALL_NAMES) is kept for the total."""
    groups = count_groups(project, time_range, EventFilter(), "name", ALL_NAMES)
    return Counter({group.key: group.count for group in groups if group.key is not None and group.count})


def events_volume(
    project: Project, period: Period, current: TimeRange, previous: TimeRange, now: Counter, before: Counter
) -> tuple[Sentence, dict]:
    """All events in the period against the period before."""
    counted, earlier = now.total(), before.total()
    found = [
        facts.event_count(None, current.start, current.end, counted, f"events in {period.current}"),
        facts.event_count(None, previous.start, previous.end, earlier, f"events in {period.previous}"),
    ]
    change = (counted - earlier) / earlier * 100 if earlier else None
    volume = {"current": counted, "previous": earlier, "change_percent": change, "verdict": "not_enough_data"}
    if not counted and not earlier:
        return (f"No events came in during {period.current} or {period.previous}.", found), volume
    if not earlier:
        text = f"The project received {plural(counted, 'event')} in {period.current} and none in {period.previous}."
        return (text, found), volume
    whole = TimeRange(previous.start, current.end, current.zone)
    hourly = full_hours(count_series(project, whole, EventFilter(), "1h"), whole)
    verdict = trend(change, count_change(counted, earlier, dispersion(hourly.values)).significant)
    how = "steady" if verdict == "steady" else f"{verdict} {percent(change)}"
    text = f"The project received {plural(counted, 'event')} in {period.current}, {how} {period.over} "
    return (f"{text}(against {number(earlier)}).", found), volume | {"verdict": verdict}


def log_change(change_percent: float | None) -> float:
    """How big a relative change is, rises and drops alike (doubling and halving weigh the same)."""
    if change_percent is None or change_percent <= -100:
        return math.inf
    return abs(math.log1p(change_percent / 100))


def biggest_movers(
    project: Project, period: Period, ranges: tuple[TimeRange, TimeRange], now: datetime, names_now: Counter,
    names_before: Counter,
) -> tuple[Sentence, list[dict]]:  # fmt: skip
    """Event names and metrics whose change is significant, the largest relative changes first."""
    candidates = []
    for name in set(names_now) | set(names_before):
        counted, earlier = names_now[name], names_before[name]
        enough = name != "__other__" and earlier and counted + earlier >= MIN_MOVER_EVENTS
        # A quick Poisson screen on the totals; the full insight then also weighs how bursty the name is.
        if enough and count_change(counted, earlier).significant:
            candidates.append((-log_change((counted - earlier) / earlier * 100), name))
    insights = [
        event_insight(project, name, period, now, (names_now[name], names_before[name]))
        for _, name in sorted(candidates)[:EVENT_CANDIDATES]
    ]
    points_now, points_before = (points_per_metric(project.pk, time_range) for time_range in ranges)
    busiest = sorted(points_now, key=lambda metric_id: -points_now[metric_id])[:BUSIEST_METRICS]
    metrics = Metric.objects.filter(project_id=project.pk, pk__in=busiest).order_by("name")
    insights += [
        metric_insight(project, metric, period, now, (points_now[metric.pk], points_before.get(metric.pk, 0)))
        for metric in metrics
    ]
    significant = [insight for insight in insights if insight["significant"]]
    significant.sort(key=lambda item: (-log_change(item["change_percent"]), item["name"]))
    movers = significant[:MAX_MOVERS]
    if not movers:
        compared = names_before or any(insight["verdict"] != "not_enough_data" for insight in insights)
        text = f"No event name or metric changed significantly {period.over}." if compared else ""
        return (text, []), []
    phrases = []
    for mover in movers:
        amount = f" {percent(mover['change_percent'])}" if mover["change_percent"] is not None else ""
        phrases.append(
            f"{mover['subject']} {mover['verdict']}{amount} ({number(mover['current'])} vs {number(mover['previous'])})"
        )
    label = "Biggest mover" if len(movers) == 1 else "Biggest movers"
    text = f"{label} {period.over}: {'; '.join(phrases)}."
    found = [fact for mover in movers for fact in mover["facts"][:2]]
    shown = ("name", "kind", "aggregation", "subject", "current", "previous", "change_percent", "verdict", "text")
    return (text, found), [{key: mover[key] for key in shown} for mover in movers]


def open_anomalies(project: Project, period: Period, current: TimeRange, now: datetime) -> tuple[Sentence, dict]:
    """Anomalies open at some time during the period (as GET /api/v1/anomalies with from/to lists them)."""
    overlapping = AnomalyFilter(start=current.start, end=current.end)
    anomalies, more = list_anomalies(project, overlapping, LIST_LIMIT_MAX, None)
    by_severity = Counter(anomaly.severity for anomaly in anomalies)
    params = facts.range_params(current.start, current.end) | {"limit": str(LIST_LIMIT_MAX)}
    total = len(anomalies)
    counted = f"more than {number(total)}" if more else number(total)
    found = [facts.anomaly_count(params, total, f"anomalies open during {period.current}")]
    summary = {"total": total, "by_severity": {severity: by_severity[severity] for severity in SEVERITIES}, "top": None}
    if not anomalies:
        return (f"No anomalies were open during {period.current}.", found), summary
    parts = []
    for severity in SEVERITIES:
        if by_severity[severity]:
            parts.append(f"{number(by_severity[severity])} {severity}")
            label = f"{severity} anomalies open during {period.current}"
            found.append(facts.anomaly_count(params | {"severity": severity}, by_severity[severity], label))
    top = max(anomalies, key=lambda anomaly: (SEVERITY_RANK[anomaly.severity], anomaly.score, anomaly.started_at))
    noun = "anomaly was" if total == 1 and not more else "anomalies were"
    most = describe(top, now, current.zone)
    text = f"{counted} {noun} open during {period.current} ({joined(parts)}); the most severe is {most}."
    summary["top"] = {
        "id": top.pk, "name": top.watch.name, "kind": top.kind, "severity": top.severity,
        "started_at": iso(top.started_at),
    }  # fmt: skip
    return (text, found), summary


def describe(anomaly: Anomaly, now: datetime, zone: ZoneInfo) -> str:
    """ "a critical spike in checkout.completed that started Tuesday around 14:00"."""
    kind = KIND_WORDS.get(anomaly.kind, anomaly.kind)
    when = moment(anomaly.started_at, now, zone)
    return f"a {anomaly.severity} {kind} in {anomaly.watch.name} that started {when}"


def first_seen(
    project: Project, period: Period, current: TimeRange, history: TimeRange, names_now: Counter
) -> tuple[Sentence, dict]:
    """Event names and metrics with data in the period and none before it (as far back as data is kept)."""
    seen_before = name_counts(project, history)
    new_events = sorted(
        (name for name in names_now if name != "__other__" and not seen_before[name]),
        key=lambda name: (-names_now[name], name),
    )
    points_now = points_per_metric(project.pk, current)
    points_before = points_per_metric(project.pk, history)
    new_ids = [metric_id for metric_id in points_now if metric_id not in points_before]
    names = dict(Metric.objects.filter(project_id=project.pk, pk__in=new_ids).values_list("pk", "name"))
    new_metrics = sorted(new_ids, key=lambda metric_id: (-points_now[metric_id], names[metric_id]))
    found: list[dict] = []
    listed: list[str] = []
    before = f"before {period.current}, as far back as data is kept"
    for name in new_events[:MAX_NEW]:
        listed.append(f"{name} ({number(names_now[name])} events)")
        label = f"{name} events in {period.current}"
        found.append(facts.event_count(name, current.start, current.end, names_now[name], label))
        found.append(facts.event_count(name, history.start, history.end, 0, f"{name} events {before}"))
    for metric_id in new_metrics[: max(0, MAX_NEW - len(listed))]:
        name, count = names[metric_id], points_now[metric_id]
        listed.append(f"the metric {name} ({plural(count, 'point')})")
        label = f"{name} points in {period.current}"
        found.append(facts.metric_points(name, current.start, current.end, count, label))
        found.append(facts.metric_points(name, history.start, history.end, 0, f"{name} points {before}"))
    new = {
        "events": [{"name": name, "count": names_now[name]} for name in new_events],
        "metrics": [{"name": names[metric_id], "points": points_now[metric_id]} for metric_id in new_metrics],
    }
    if not listed:
        return ("", []), new
    unlisted = len(new_events) + len(new_metrics) - len(listed)
    if unlisted:
        listed.append(f"{unlisted} more")
    return (f"New in {period.current}: {joined(listed)}.", found), new
