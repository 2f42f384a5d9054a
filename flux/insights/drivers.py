"""Why an event name or metric changed: the comparison of flux.insights.compare (with when the change
started, if one hour stands out), then which tag values drive it. The stretch after the change (or the
current period) is set against as long a stretch just before it:

- events: each tag value's count after against before; the values whose change makes up most of the
  whole change are named with their share ("80% of the rise is plan=pro");
- metrics: the type's default aggregation per tag value after against before; the values that moved
  most are named with their own change ("route=/checkout +45%").
"""

from datetime import datetime
from zoneinfo import ZoneInfo

from anomalies.explain import contributions
from anomalies.explain import sentence as share_sentence
from events.queries import count_events, count_groups, tag_keys_of
from flux.insights import facts
from flux.insights.compare import compare_insight
from flux.insights.wording import number, percent
from flux.query.compare import percent_change
from flux.query.event_filter import EventFilter
from flux.query.timerange import TimeRange
from flux.tenants.models import Project
from flux.web.serializers import iso
from metrics.queries import DEFAULT_AGGREGATION, get_metric, metric_tag_keys, metric_values_by_tag

MAX_DRIVERS = 3
GROUPS_PER_TAG = 20


def explain_change(project: Project, name: str, period: str, now: datetime, kind: str | None = None) -> dict:
    """The comparison's sentence, then the tag values that drive the change (or why there is nothing to explain)."""
    result = compare_insight(project, name, period, now, kind)
    if result["verdict"] not in ("up", "down"):
        return result | {"drivers": [], "after": None, "before": None,
                         "text": f"{result['text']} There is no change to explain."}  # fmt: skip
    zone = ZoneInfo(project.timezone)
    start = datetime.fromisoformat(result["change_start"]["at"]) if result["change_start"] else None
    after = TimeRange(start, now, zone) if start else TimeRange(datetime.fromisoformat(result["from"]), now, zone)
    before = TimeRange(after.start - after.duration, after.start, zone)
    if result["kind"] == "event":
        drivers, text, found = event_drivers(project, name, after, before, result["verdict"])
    else:
        drivers, text, found = metric_drivers(project, name, after, before)
    window = {"after": {"from": iso(after.start), "to": iso(after.end)},
              "before": {"from": iso(before.start), "to": iso(before.end)}}  # fmt: skip
    return result | window | {"drivers": drivers, "text": f"{result['text']} {text}", "facts": result["facts"] + found}


def event_drivers(
    project: Project, name: str, after: TimeRange, before: TimeRange, direction: str
) -> tuple[list[dict], str, list[dict]]:
    tag_keys = tag_keys_of(project, [name], after)[name]
    actual, expected = {}, {}
    for tag_key in tag_keys:
        for counts, span in ((actual, after), (expected, before)):
            for group in count_groups(project, span, EventFilter(name=name), f"tags.{tag_key}", GROUPS_PER_TAG):
                if group.key not in (None, "__other__"):
                    counts[tag_key, group.key] = float(group.count)
    total_change = count_events(project, after, EventFilter(name=name)) - count_events(
        project, before, EventFilter(name=name)
    )
    found = contributions(actual, [expected], total_change)
    evidence = [
        facts.event_count(name, span.start, span.end, int(counts.get((item["tag"], item["value"]), 0)),
                          f"{name} events with {item['tag']}={item['value']} {label}", {item["tag"]: item["value"]})
        for item in found
        for counts, span, label in ((actual, after, "after the change"), (expected, before, "before it"))
    ]  # fmt: skip
    return found, share_sentence(found, "up" if direction == "up" else "down"), evidence


def metric_drivers(project: Project, name: str, after: TimeRange, before: TimeRange) -> tuple[list[dict], str, list]:
    metric = get_metric(project.pk, name)
    aggregation = DEFAULT_AGGREGATION[metric.type]
    moved = []
    for tag_key in metric_tag_keys(metric):
        now_values = metric_values_by_tag(project.pk, metric, after, tag_key, aggregation)
        then_values = metric_values_by_tag(project.pk, metric, before, tag_key, aggregation)
        for value, current in now_values.items():
            previous = then_values.get(value)
            change = percent_change(current, previous)
            if change is None:
                continue
            moved.append({"tag": tag_key, "value": value, "before": previous, "after": current,
                          "change_percent": change})  # fmt: skip
    moved.sort(key=lambda item: (-abs(item["change_percent"]), item["tag"], item["value"]))
    drivers = moved[:MAX_DRIVERS]
    if not drivers:
        return [], "No tag value stands out.", []
    named = ", ".join(
        f"{item['tag']}={item['value']} ({'+' if item['change_percent'] > 0 else '-'}"
        f"{percent(abs(item['change_percent']))}: {number(item['after'])} vs {number(item['before'])})"
        for item in drivers
    )
    evidence = [
        facts.metric_compare(name, aggregation, after, field, item[side], f"{name} with {item['tag']}={item['value']} "
                             f"{label}", {item["tag"]: item["value"]})
        for item in drivers
        for field, side, label in (("current", "after", "after the change"), ("previous", "before", "before it"))
    ]  # fmt: skip
    return drivers, f"The tag values that moved most: {named}.", evidence
