"""Widget data: each widget type's query answered through the query layer, with dashboard filters."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboards import services
from dashboards.models import Widget
from dashboards.widget_data import widget_data
from events.tests.factories import insert_event
from flux.query.timerange import TimeRange
from flux.tenants.models import Project
from metrics.tests.factories import insert_point, make_series

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)  # a Monday
WEEK = TimeRange(MONDAY, MONDAY + timedelta(days=7), ZoneInfo("UTC"))
PREVIOUS_WEEK = MONDAY - timedelta(days=7)


def widget(project: Project, config: dict) -> Widget:
    dashboard = services.create_dashboard(project, "Test")
    return services.add_widget(dashboard, config)


@pytest.fixture
def shop(project: Project) -> Project:
    for day, plan, count in ((0, "pro", 3), (1, "free", 2), (2, "pro", 1)):
        for index in range(count):
            moment = MONDAY + timedelta(days=day, hours=10, minutes=index)
            tags = {"plan": plan, "env": "prod"}
            insert_event(project, moment, "user.signup", user_id=f"u{day}{index}", tags=tags, value=10.0 * (index + 1))
    insert_event(project, MONDAY + timedelta(days=3, hours=10), "user.signup", tags={"plan": "pro", "env": "test"})
    insert_event(project, PREVIOUS_WEEK + timedelta(hours=1), "user.signup", tags={"env": "prod"})
    return project


def test_number_shows_the_value_its_change_and_a_sparkline(shop: Project) -> None:
    data = widget_data(shop, widget(shop, {"type": "number", "query": {"name": "user.signup"}}), WEEK, {})
    assert (data["value"], data["previous"], data["change"], data["change_percent"]) == (7, 1, 6, 600.0)
    assert sum(value for _, value in data["sparkline"]) == 7 and len(data["sparkline"]) <= 30
    filtered = widget_data(shop, widget(shop, {"type": "number", "query": {"name": "user.*"}}), WEEK, {"env": "prod"})
    assert filtered["value"] == 6  # the dashboard-wide filter applies


def test_a_saved_interval_is_the_finest_shown_and_coarsened_where_it_would_give_too_many_points(
    shop: Project,
) -> None:
    """Saved at 1m and viewed over a week (10,080 points), the widget made the whole dashboard's answer a 500."""
    fine = {"name": "user.signup", "interval": "1m"}
    graph = widget_data(shop, widget(shop, {"type": "graph", "query": fine}), WEEK, {})
    assert graph["interval"] == "15m"  # 5m would give 2,016 points: the next of the ladder
    assert sum(value for series in graph["series"] for _, value in series["points"]) == 7
    combined = {**fine, "more": [{"source": "events", "name": "user.signup", "alias": "b"}]}
    assert (
        widget_data(shop, widget(shop, {"type": "graph", "query": combined}), WEEK, {})["interval"] == graph["interval"]
    )
    hour = TimeRange(MONDAY, MONDAY + timedelta(hours=1), ZoneInfo("UTC"))
    assert widget_data(shop, widget(shop, {"type": "graph", "query": fine}), hour, {})["interval"] == "1m"


def test_graph_bar_pie_and_table_group_by_a_tag(shop: Project) -> None:
    query = {"name": "user.signup", "group_by": "tags.plan", "interval": "1d"}
    graph = widget_data(shop, widget(shop, {"type": "graph", "query": query}), WEEK, {})
    assert graph["interval"] == "1d"
    by_key = {series["key"]: [value for _, value in series["points"]] for series in graph["series"]}
    assert by_key["pro"] == [3, 0, 1, 1, 0, 0, 0] and by_key["free"] == [0, 2, 0, 0, 0, 0, 0]
    for widget_type in ("bar", "pie", "table"):
        data = widget_data(shop, widget(shop, {"type": widget_type, "query": query}), WEEK, {})
        assert data["groups"] == [{"key": "pro", "value": 5}, {"key": "free", "value": 2}] and data["total"] == 7
    unique = widget_data(shop, widget(shop, {"type": "table", "query": {**query, "aggregation": "unique"}}), WEEK, {})
    assert unique["groups"] == [{"key": "pro", "value": 4}, {"key": "free", "value": 2}]
    averages = widget_data(shop, widget(shop, {"type": "bar", "query": {**query, "aggregation": "max"}}), WEEK, {})
    assert averages["groups"] == [{"key": "pro", "value": 30.0}, {"key": "free", "value": 20.0}]


def test_only_counts_and_sums_are_additive_so_only_their_groups_have_a_share(shop: Project) -> None:
    query = {"name": "user.signup", "group_by": "tags.plan"}
    additive = {
        aggregation: widget_data(shop, widget(shop, {"type": "table", "query": {**query, "aggregation": aggregation}}),
                                 WEEK, {})["additive"]
        for aggregation in ("count", "sum", "unique", "avg", "max", "p95")
    }  # fmt: skip
    assert additive == {"count": True, "sum": True, "unique": False, "avg": False, "max": False, "p95": False}


def test_a_number_over_a_near_empty_previous_period_has_no_percentage(project: Project) -> None:
    insert_event(project, PREVIOUS_WEEK + timedelta(hours=1), "order.completed")
    for index in range(40):
        insert_event(project, MONDAY + timedelta(hours=1, minutes=index), "order.completed")
    data = widget_data(project, widget(project, {"type": "number", "query": {"name": "order.completed"}}), WEEK, {})
    assert (data["value"], data["previous"], data["change"], data["change_percent"]) == (40, 1, 39, None)


def test_heatmap_of_events_by_weekday_and_hour_in_the_dashboard_timezone(shop: Project) -> None:
    heatmap = widget(shop, {"type": "heatmap", "query": {"name": "user.signup"}})
    utc = widget_data(shop, heatmap, WEEK, {})
    assert utc["mode"] == "hour_of_week"
    assert utc["cells"] == [[0, 10, 3], [1, 10, 2], [2, 10, 1], [3, 10, 1]]
    kolkata = TimeRange(WEEK.start, WEEK.end, ZoneInfo("Asia/Kolkata"))
    first_cell = widget_data(shop, heatmap, kolkata, {})["cells"][0]
    assert first_cell[:2] == [0, 15]  # 10:00Z is 15:30 in Kolkata


def test_metric_widgets_and_a_value_heatmap_of_a_distribution(project: Project) -> None:
    latency = make_series(project, "api.latency", "distribution", route="/")
    search = make_series(project, "api.latency", "distribution", route="/search")
    for minute in range(60):
        insert_point(latency, MONDAY + timedelta(minutes=minute), 10.0 + minute)
        insert_point(search, MONDAY + timedelta(minutes=minute), 500.0)
    query = {"source": "metric", "name": "api.latency", "aggregation": "max", "group_by": "tags.route"}
    bars = widget_data(project, widget(project, {"type": "bar", "query": query}), WEEK, {})
    assert sorted((group["key"], group["value"]) for group in bars["groups"]) == [("/", 69.0), ("/search", 500.0)]
    number = widget(project, {"type": "number", "query": {**query, "group_by": None, "filters": {"route": "/"}}})
    assert widget_data(project, number, WEEK, {})["value"] == 69.0
    heatmap = widget(project, {"type": "heatmap", "query": {"source": "metric", "name": "api.latency"},
                               "display": {"mode": "time_value"}})  # fmt: skip
    data = widget_data(project, heatmap, WEEK, {})
    assert data["mode"] == "time_value" and len(data["bins"]) == 20
    assert sum(count for _, _, count in data["cells"]) == 120
    assert data["bins"][0] == pytest.approx(10.0, rel=0.01)


def test_a_metric_that_has_not_arrived_yet_is_an_empty_widget(project: Project) -> None:
    pending = widget(project, {"type": "graph", "query": {"source": "metric", "name": "not.yet"}})
    assert widget_data(project, pending, WEEK, {})["empty"] is True


def test_which_widgets_new_data_touches(project: Project) -> None:
    from dashboards.consumers import affected_widgets

    all_events = widget(project, {"type": "number", "query": {}})
    signups = widget(project, {"type": "number", "query": {"name": "user.sign*"}})
    latency = widget(project, {"type": "graph", "query": {"source": "metric", "name": "api.latency"}})
    widgets = [all_events, signups, latency]
    assert affected_widgets(widgets, ["user.signup"], []) == {all_events.pk, signups.pk}
    assert affected_widgets(widgets, ["order.completed"], ["api.latency"]) == {all_events.pk, latency.pk}
    assert affected_widgets(widgets, [], ["queue.depth"]) == set()
