"""Metric rollups give the raw answer: exactly for totals and small sets, within 1% for percentiles."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.models import RollupWatermark
from flux.query.partials import PERCENTILES
from flux.query.rollup_job import SAFETY_LAG
from flux.query.sketches import EXACT_LIMIT, RELATIVE_ACCURACY
from flux.query.timerange import MAX_POINTS, TimeRange, approximate_seconds
from flux.tenants.models import Project
from flux.tenants.services import create_project
from metrics import queries
from metrics.models import MetricRollup
from metrics.rollups import rebuild_metric_rollups, roll_up_metrics
from metrics.tests.factories import insert_point, make_series

pytestmark = pytest.mark.storage  # `make test` runs these on TimescaleDB too

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
RECEIVED = T0 + timedelta(days=2)
ROLLUP_AT = RECEIVED + timedelta(minutes=10)
LATE = ROLLUP_AT + timedelta(minutes=1)
DAY = TimeRange(T0 - timedelta(hours=12), T0 + timedelta(hours=12), ZoneInfo("UTC"))


def roll_up(now: datetime = ROLLUP_AT) -> None:
    """A run that takes every point received before `now` (as if it were the first run)."""
    RollupWatermark.objects.filter(stream="metrics").delete()
    roll_up_metrics(now)


def rows(series_id: int) -> dict[str, list[tuple]]:
    by_level: dict[str, list[tuple]] = {}
    for row in (
        MetricRollup.objects.filter(series_id=series_id)
        .order_by("bucket")
        .values_list("level", "bucket", "count", "sum", "min", "max", "last", "last_time")
    ):
        by_level.setdefault(row[0], []).append(row[1:])
    return by_level


def test_a_run_keeps_totals_and_the_last_value_per_minute_hour_and_day(project: Project) -> None:
    gauge = make_series(project, "queue.depth", "gauge", queue="default")
    for minutes, value in ((0, 5.0), (0.5, 9.0), (0.5, 7.0), (61, 1.0)):
        insert_point(gauge, T0 + timedelta(minutes=minutes), value, received_at=RECEIVED)
    roll_up()
    levels = rows(gauge.pk)
    half = T0 + timedelta(seconds=30)
    # Two points at one instant: "last" takes the larger, as the raw path does.
    assert levels["minute"][0] == (T0, 3, 21.0, 5.0, 9.0, 9.0, half)
    assert levels["hour"] == [(T0, 3, 21.0, 5.0, 9.0, 9.0, half), (T0 + timedelta(hours=1), 1, 1.0, 1.0, 1.0, 1.0,
                              T0 + timedelta(minutes=61))]  # fmt: skip
    assert levels["day"] == [(T0.replace(hour=0), 4, 22.0, 1.0, 9.0, 1.0, T0 + timedelta(minutes=61))]


def test_running_again_changes_nothing(project: Project) -> None:
    latency = make_series(project, "api.latency", "distribution")
    users = make_series(project, "users", "set")
    for second in range(0, 300, 7):
        insert_point(latency, T0 + timedelta(seconds=second), second + 0.5, received_at=RECEIVED)
        insert_point(users, T0 + timedelta(seconds=second), member=f"u{second % 11}", received_at=RECEIVED)
    roll_up()
    before = list(MetricRollup.objects.order_by("series_id", "level", "bucket").values())
    roll_up_metrics(ROLLUP_AT)
    roll_up_metrics(ROLLUP_AT + timedelta(minutes=1))
    assert list(MetricRollup.objects.order_by("series_id", "level", "bucket").values()) == before
    day = MetricRollup.objects.get(series_id=latency.pk, level="day")
    assert sum(day.sketch_counts) == day.count == 43
    assert len(MetricRollup.objects.get(series_id=users.pk, level="day").member_hashes) == 11


def test_large_sets_become_hyperloglogs_at_every_level(project: Project) -> None:
    users = make_series(project, "users", "set")
    for index in range(EXACT_LIMIT + 200):  # more than the limit in one minute
        insert_point(users, T0 + timedelta(milliseconds=index), member=f"a{index}", received_at=RECEIVED)
    for index in range(700):  # and in another hour, few per minute, many per day
        insert_point(users, T0 + timedelta(hours=1, seconds=index * 5), member=f"b{index}", received_at=RECEIVED)
    roll_up()
    stored = {
        (row.level, row.bucket): (row.member_hashes is None, row.member_registers is None)
        for row in MetricRollup.objects.filter(series_id=users.pk)
    }
    assert stored["minute", T0] == (True, False)
    assert stored["minute", T0 + timedelta(hours=1)] == (False, True)
    assert stored["hour", T0 + timedelta(hours=1)] == (False, True)  # 700 members: still exact
    assert stored["day", T0.replace(hour=0)] == (True, False)
    unique = queries.metric_series(project.pk, users.metric, DAY, "1d", "unique", {}, None, 10)[0].points
    assert unique[0][1] == pytest.approx(EXACT_LIMIT + 200 + 700, rel=0.02)


def test_late_points_count_before_and_after_their_bucket_is_rolled_again(project: Project) -> None:
    counter = make_series(project, "orders", "counter")
    insert_point(counter, T0, 2.0, received_at=RECEIVED)
    roll_up()
    insert_point(counter, T0 + timedelta(seconds=5), 3.0, received_at=LATE)
    total = queries.metric_series(project.pk, counter.metric, DAY, "1d", "sum", {}, None, 10)[0].points
    assert total[0][1] == 5.0
    roll_up_metrics(LATE + timedelta(minutes=1))
    assert rows(counter.pk)["day"][0][:3] == (T0.replace(hour=0), 2, 5.0)
    assert queries.metric_series(project.pk, counter.metric, DAY, "1d", "sum", {}, None, 10)[0].points == total


def test_points_of_a_deleted_project_awaiting_purge_are_skipped(project: Project) -> None:
    doomed = create_project("Doomed")
    insert_point(make_series(doomed, "orders", "counter"), T0, received_at=RECEIVED)
    doomed.delete()  # its series go at once; raw points wait for the purge task
    roll_up()
    assert not MetricRollup.objects.filter(project_id=doomed.pk).exists()


SERIES = [
    ("gauge", {"host": "a"}), ("gauge", {"host": "b"}), ("counter", {"host": "a"}), ("counter", {"host": "b"}),
    ("distribution", {"host": "a"}), ("distribution", {"host": "b"}), ("set", {"host": "a"}), ("set", {"host": "b"}),
]  # fmt: skip
AGGREGATIONS = {
    "gauge": ["last", "avg", "min", "max"],
    "counter": ["sum", "rate"],
    "distribution": ["avg", "count", "min", "max", *PERCENTILES],
    "set": ["unique"],
}
offsets = st.integers(min_value=-2 * 86400 * 1000, max_value=86400 * 1000)
# Range lengths: any, and often whole-hour or longer ones so that hour and day rollups take part.
lengths = st.integers(0, 3 * 86400 * 1000) | st.integers(1, 72).map(lambda hours: hours * 3600 * 1000 + 1)
points = st.lists(
    st.tuples(offsets, st.integers(0, len(SERIES) - 1), st.integers(1, 10_000), st.booleans()),
    min_size=1, max_size=40,
)  # fmt: skip


def assert_close(rolled: float | None, raw: float | None, aggregation: str) -> None:
    if raw is None or rolled is None:
        assert rolled == raw
    else:
        tolerance = RELATIVE_ACCURACY if aggregation in PERCENTILES else 1e-9
        assert rolled == pytest.approx(raw, rel=tolerance)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=points,
    range_ms=st.tuples(offsets, lengths),
    interval=st.sampled_from([None, "1m", "5m", "1h", "3h", "1d"]),
    zone=st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"]),
    metric_type=st.sampled_from(list(AGGREGATIONS)),
    grouped=st.booleans(),
    data=st.data(),
)
def test_rollup_answers_equal_raw_answers(
    rows: list, range_ms: tuple, interval: str | None, zone: str, metric_type: str, grouped: bool, data: st.DataObject
) -> None:
    project = create_project("Property", retention_days=3650)
    made = [make_series(project, f"m.{kind}", kind, **tags) for kind, tags in SERIES]
    for offset, index, value, late in rows:
        # Values in hundredths, so that sums are exact in any order; a few repeat, as members do.
        insert_point(made[index], T0 + timedelta(milliseconds=offset), value / 100, member=f"u{value % 97}",
                     received_at=LATE if late else RECEIVED)  # fmt: skip
    roll_up()
    start = T0 + timedelta(milliseconds=range_ms[0])
    end = start + timedelta(milliseconds=range_ms[1])
    time_range = TimeRange(start, end + timedelta(milliseconds=1), ZoneInfo(zone))
    metric = made[[kind for kind, _ in SERIES].index(metric_type)].metric
    if interval is None:
        rolled, raw = (summary(project.pk, metric, time_range) for summary in (queries.metric_summary,
                                                                               queries.metric_summary_raw))  # fmt: skip
        assert rolled.keys() == raw.keys()
        for field in rolled:
            assert_close(rolled[field], raw[field], field)
        return
    if time_range.duration.total_seconds() / approximate_seconds(interval) > MAX_POINTS:
        return
    aggregation = data.draw(st.sampled_from(AGGREGATIONS[metric_type]))
    group_by = "host" if grouped else None
    args = (project.pk, metric, time_range, interval, aggregation, {}, group_by, 10)
    rolled_series, raw_series = queries.metric_series(*args), queries.metric_series_raw(*args)
    assert [series.tags for series in rolled_series] == [series.tags for series in raw_series]
    for rolled_one, raw_one in zip(rolled_series, raw_series, strict=True):
        assert [start for start, _ in rolled_one.points] == [start for start, _ in raw_one.points]
        for (_, rolled_value), (_, raw_value) in zip(rolled_one.points, raw_one.points, strict=True):
            assert_close(rolled_value, raw_value, aggregation)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 1), st.integers(-26 * 3600, 26 * 3600), st.integers(0, 40),
                  st.integers(0, len(SERIES) - 1), st.integers(-50, 1000)),
        min_size=1, max_size=40,
    ),
    cuts=st.lists(st.integers(0, 41), max_size=6),
)  # fmt: skip
def test_runs_split_at_any_watermarks_equal_a_full_recompute(rows: list, cuts: list[int]) -> None:
    projects = [create_project(f"Fleet {index}", retention_days=3650) for index in range(2)]
    made = [[make_series(project, f"m.{kind}", kind, **tags) for kind, tags in SERIES] for project in projects]
    for project_index, seconds, arrival, index, value in rows:
        # Whole values: sums are exact in any order. Arrival and time are independent: late data.
        insert_point(made[project_index][index], T0 + timedelta(seconds=seconds), value, member=f"u{value % 7}",
                     received_at=RECEIVED + timedelta(minutes=arrival))  # fmt: skip
    RollupWatermark.objects.filter(stream="metrics").delete()
    for cut in sorted(cuts):
        roll_up_metrics(RECEIVED + timedelta(minutes=cut) + SAFETY_LAG)
    roll_up_metrics(RECEIVED + timedelta(minutes=41) + SAFETY_LAG)

    def stored(project: Project) -> list[dict]:
        rows = MetricRollup.objects.filter(project_id=project.pk).order_by("series_id", "level", "bucket")
        return list(rows.values())

    incremental = [stored(project) for project in projects]
    for project in projects:
        rebuild_metric_rollups(project.pk)
    assert incremental == [stored(project) for project in projects]
