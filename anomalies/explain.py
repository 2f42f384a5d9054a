"""Why an anomaly happened, in the terms of its data: which tag values carry the deviation. For an event
count, each tag value's count over the episode is set against the same local hours (or five-minute
buckets) of the previous weeks in the project's time zone (the week of the median total of three), and the values whose
change makes up most of the whole change are named, largest share first: "80% of the rise is plan=pro"."""

import statistics
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from anomalies.detection.localtime import zone_or_utc
from anomalies.models import Anomaly, Watch
from flux.query.db import fetch_all

WEEKS_BACK = 3
MAX_CONTRIBUTORS = 3
MIN_SHARE = 0.1  # a value carrying less than this of the change is not worth naming
# A value not among the largest shares but carrying this much more of the change than of the usual volume (a
# campaign new today: 27% of a surge, 0% before) is named too: the largest shares may only be proportional.
UNUSUAL_LIFT = 0.25
EVERYWHERE_SHARE = 0.9  # a value usually behind this much of its tag's events tells nothing of the change

TagValue = tuple[str, str]


def contributions(
    actual: dict[TagValue, float], earlier: list[dict[TagValue, float]], total_change: float
) -> list[dict]:
    """The tag values whose change (against the median of the earlier windows) makes up most of
    `total_change`, largest share first, each with its share of it. Pure.

    A value usually behind nearly every event of its tag (country=DE in a German shop) carries about the
    whole change whatever caused it, so it comes after the values that tell something; values with the
    same share are ranked by how much more of the change they carry than of the usual volume."""
    if not total_change:
        return []
    keys = set(actual).union(*earlier)
    expected = {key: statistics.median(window.get(key, 0.0) for window in earlier) if earlier else 0.0 for key in keys}
    usual_by_tag: dict[str, float] = {}
    for (tag, _), count in expected.items():
        usual_by_tag[tag] = usual_by_tag.get(tag, 0.0) + count
    found = []
    for key in keys:
        share = (actual.get(key, 0.0) - expected[key]) / total_change
        if share >= MIN_SHARE:
            usual_share = expected[key] / usual_by_tag[key[0]] if usual_by_tag[key[0]] else 0.0
            found.append({"tag": key[0], "value": key[1], "actual": actual.get(key, 0.0), "expected": expected[key],
                          "share": round(min(share, 1.0), 3), "lift": share - usual_share,
                          "everywhere": usual_share >= EVERYWHERE_SHARE})  # fmt: skip
    found.sort(key=lambda item: (item["everywhere"], -item["share"], -item["lift"], item["tag"], item["value"]))
    unusual = sorted(
        (item for item in found[MAX_CONTRIBUTORS:] if item["lift"] >= UNUSUAL_LIFT and not item["everywhere"]),
        key=lambda item: -item["lift"],
    )[:1]
    for item in unusual:
        item["unusual"], item["usual_share"] = True, round(item["share"] - item["lift"], 3)
    internal = ("lift", "everywhere")
    named = found[:MAX_CONTRIBUTORS] + unusual
    return [{key: value for key, value in item.items() if key not in internal} for item in named]


def median_window(earlier: list[dict[TagValue, float]], totals: list[float]) -> tuple[dict[TagValue, float], float]:
    """The earlier window whose total is the median (the mean of the middle two of an even number), its counts
    per tag value and its total. One window for both: the median of the totals against each value's own
    median, taken from different weeks, gave shares that did not add up ("50% of the drop is plan=free;
    also plan=pro (33%)" when both fell to 0 from 6 and 4)."""
    order = sorted(range(len(totals)), key=lambda index: totals[index])
    middle = order[(len(order) - 1) // 2 : len(order) // 2 + 1]
    keys = set().union(*(earlier[index] for index in middle))
    counts = {key: sum(earlier[index].get(key, 0.0) for index in middle) / len(middle) for key in keys}
    return counts, sum(totals[index] for index in middle) / len(middle)


def sentence(found: list[dict], direction: str, tagged: bool = True) -> str:
    """ "80% of the rise is plan=pro; also country=DE (62%)." Values of other tags may describe the same
    events (every surge event from one campaign is also from one country), so they follow as "also"."""
    change = "rise" if direction == "up" else "drop"
    if not tagged:
        return f"These events carry no tags to break the {change} down by."
    if not found:
        return f"No single tag value stands out in the {change}."
    first, *others = [item for item in found if not item.get("unusual")]
    text = f"{round(first['share'] * 100)}% of the {change} is {first['tag']}={first['value']}"
    if others:
        also = [f"{item['tag']}={item['value']} ({round(item['share'] * 100)}%)" for item in others]
        text += "; also " + ", ".join(also)
    for item in found:
        if item.get("unusual"):
            text += (f"; out of the ordinary: {item['tag']}={item['value']} ({round(item['share'] * 100)}% of the "
                     f"{change}, usually {round(item['usual_share'] * 100)}% of the events)")  # fmt: skip
    return text + "."


def tag_counts(watch: Watch, start: datetime, end: datetime) -> tuple[dict[TagValue, float], float]:
    """Counts per tag value and in all over [start, end): from the hour rollups for whole hours, from raw
    events for a window of five-minute buckets (tags are rolled up by the hour only)."""
    if start.timestamp() % 3600 or end.timestamp() % 3600:
        return raw_tag_counts(watch, start, end)
    rows = fetch_all(
        """
        SELECT tag_key, tag_value, sum(count) FROM events_eventtagrollup
        WHERE project_id = %s AND name = %s AND level = 'hour' AND bucket >= %s AND bucket < %s
        GROUP BY 1, 2
        """,
        [watch.project_id, watch.name, start, end],
    )
    total = fetch_all(
        """SELECT coalesce(sum(count), 0) FROM events_eventrollup
           WHERE project_id = %s AND name = %s AND level = 'hour' AND bucket >= %s AND bucket < %s""",
        [watch.project_id, watch.name, start, end],
    )[0][0]
    return {(key, value): float(count) for key, value, count in rows}, float(total)


def first_hour(watch: Watch) -> datetime | None:
    """The hour of the name's first rolled-up events (the rollups' primary key answers it)."""
    return fetch_all(
        """SELECT min(bucket) FROM events_eventrollup WHERE project_id = %s AND level = 'hour' AND name = %s""",
        [watch.project_id, watch.name],
    )[0][0]


def raw_tag_counts(watch: Watch, start: datetime, end: datetime) -> tuple[dict[TagValue, float], float]:
    where = "project_id = %s AND name = %s AND time >= %s AND time < %s"
    params = [watch.project_id, watch.name, start, end]
    rows = fetch_all(
        f"""SELECT tag.key, tag.value, count(*) FROM events_event e
            CROSS JOIN LATERAL jsonb_each_text(e.tags) AS tag WHERE {where} GROUP BY 1, 2""",
        params,
    )
    total = fetch_all(f"SELECT count(*) FROM events_event WHERE {where}", params)[0][0]
    return {(key, value): float(count) for key, value, count in rows}, float(total)


def weeks_back(moment: datetime, weeks: int, zone: ZoneInfo) -> datetime:
    """The same local time `weeks` weeks before (an hour more or less than whole weeks across a change of
    clocks: the project's hours, as the detector compares them)."""
    return (moment.astimezone(zone) - timedelta(weeks=weeks)).astimezone(UTC)


def earlier_window(
    start: datetime, last: datetime, interval: timedelta, weeks: int, zone: ZoneInfo
) -> tuple[datetime, datetime]:
    """The buckets from `start` to `last` (bucket starts), `weeks` weeks before in local time. The end is
    the last bucket's, moved, plus a bucket: moved itself, the end of an episode in the hour after 02:00
    a week after clocks go forward lands where its start does (02:00 and 03:00 that day are one instant)."""
    return weeks_back(start, weeks, zone), weeks_back(last, weeks, zone) + interval


def explain(anomaly: Anomaly) -> dict:
    """The explanation stored on the anomaly: a sentence and the contributing tag values."""
    watch = anomaly.watch
    if watch.source == Watch.Source.METRIC:
        tags = ", ".join(f"{key}={value}" for key, value in sorted(watch.series.tags.items()))
        return {"text": f"The series {tags}." if tags else "The metric's only series.", "contributors": []}
    start, last, interval = anomaly.started_at, anomaly.last_anomalous_at, timedelta(seconds=anomaly.interval_seconds)
    actual, actual_total = tag_counts(watch, start, last + interval)
    earlier, earlier_totals = [], []
    zone = ZoneInfo(zone_or_utc(anomaly.project.timezone))
    began = first_hour(watch)
    for weeks in range(1, WEEKS_BACK + 1):
        window = earlier_window(start, last, interval, weeks, zone)
        if began is None or window[0] < began:
            break  # before the series began: not a week without events, and nothing to compare with
        counts, total = tag_counts(watch, *window)
        earlier.append(counts)
        earlier_totals.append(total)
    if not earlier:
        return {"text": "The series is younger than a week: no earlier week to compare its tags with.",
                "contributors": []}  # fmt: skip
    usual, usual_total = median_window(earlier, earlier_totals)
    found = contributions(actual, [usual], actual_total - usual_total)
    tagged = bool(actual) or any(earlier)
    return {"text": sentence(found, anomaly.direction, tagged), "contributors": found}
