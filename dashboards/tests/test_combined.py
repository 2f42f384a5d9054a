"""Widgets over several queries and formulas: conversion = orders / signups, series named by their aliases."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dashboards import services
from dashboards.models import Widget
from dashboards.services import DashboardConfigError
from dashboards.widget_data import widget_data
from events.tests.factories import insert_event
from flux.query.timerange import TimeRange
from flux.tenants.models import Project

MONDAY = datetime(2026, 11, 16, tzinfo=UTC)
DAY = TimeRange(MONDAY, MONDAY + timedelta(hours=3), ZoneInfo("UTC"))
CONVERSION = {"name": "order.completed", "alias": "Orders", "interval": "1h",
              "more": [{"name": "user.signup", "alias": "Signups"}]}  # fmt: skip


def widget(project: Project, config: dict) -> Widget:
    return services.add_widget(services.create_dashboard(project, "Test"), config)


@pytest.fixture
def shop(project: Project) -> Project:
    for hour, signups, orders in ((0, 4, 1), (1, 5, 0), (2, 0, 2)):
        for index in range(signups):
            insert_event(project, MONDAY + timedelta(hours=hour, minutes=index), "user.signup")
        for index in range(orders):
            insert_event(project, MONDAY + timedelta(hours=hour, minutes=30 + index), "order.completed")
    insert_event(project, MONDAY - timedelta(hours=2), "user.signup")
    insert_event(project, MONDAY - timedelta(hours=2), "order.completed")
    return project


def test_a_number_shows_the_formula_over_the_queries_values(shop: Project) -> None:
    query = {**CONVERSION, "formula": "a / b * 100", "formula_alias": "Conversion %"}
    data = widget_data(shop, widget(shop, {"type": "number", "query": query}), DAY, {})
    assert data["value"] == pytest.approx(100 * 3 / 9)
    assert data["previous"] == 100.0  # the 3 hours before: 1 order, 1 signup


def test_a_graph_draws_each_query_under_its_alias_or_the_formula_per_bucket(shop: Project) -> None:
    both = widget_data(shop, widget(shop, {"type": "graph", "query": CONVERSION}), DAY, {})
    assert [(series["key"], [value for _, value in series["points"]]) for series in both["series"]] == [
        ("Orders", [1, 0, 2]), ("Signups", [4, 5, 0]),
    ]  # fmt: skip
    query = {**CONVERSION, "formula": "a / b", "formula_alias": "Conversion"}
    rate = widget_data(shop, widget(shop, {"type": "graph", "query": query}), DAY, {})
    assert [(series["key"], [value for _, value in series["points"]]) for series in rate["series"]] == [
        ("Conversion", [0.25, 0.0, None]),  # no signups in the last hour: no rate, not infinity
    ]


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"type": "number", "query": {"name": "a", "formula": "a / c", "more": [{"name": "b"}]}}, "query.formula"),
        ({"type": "number", "query": {"name": "a", "formula": "import os"}}, "query.formula"),
        ({"type": "table", "query": {"name": "a", "more": [{"name": "b"}]}}, "query.more"),
        ({"type": "graph", "query": {"name": "a", "more": [{"name": "b", "group_by": "name"}]}},
         "query.more[0].group_by"),
        ({"type": "graph", "query": {"name": "a", "group_by": "name", "formula": "a * 2"}}, "query.group_by"),
        ({"type": "graph", "query": {"name": "a", "more": [{}] * 5}}, "query.more"),
    ],
)  # fmt: skip
def test_bad_combinations_are_refused_naming_the_field(project: Project, config: dict, field: str) -> None:
    with pytest.raises(DashboardConfigError) as error:
        widget(project, config)
    assert error.value.details["field"] == field


def test_a_graph_can_overlay_the_previous_period_moved_onto_this_one(shop: Project) -> None:
    config = {"type": "graph", "query": {"name": "user.signup", "interval": "1h"}, "display": {"compare": "previous"}}
    data = widget_data(shop, widget(shop, config), DAY, {})
    assert [value for _, value in data["series"][0]["points"]] == [4, 5, 0]
    previous = data["previous"][0]["points"]
    assert [at for at, _ in previous] == [at for at, _ in data["series"][0]["points"]]
    assert [value for _, value in previous] == [0, 1, 0]  # 2 hours before Monday: the second of those 3 hours
