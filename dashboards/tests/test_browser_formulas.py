"""Formulas and the previous-period overlay in a real browser: built in the widget editor, drawn on the
dashboard (Debian's chromium; see conftest.live_flux)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.models import Widget
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

SERIES_NAMES = """(title) => {
    const widget = [...document.querySelectorAll('.widget')].find((item) =>
        item.querySelector('.widget-handle').textContent === title);
    if (!widget || !widget.querySelector('.chart')) return null;
    // The annotation markers' series (static/js/annotations.js) is not a query's.
    return echarts.getInstanceByDom(widget.querySelector('.chart')).getOption().series
        .filter((item) => item.id !== 'flux-annotations').map((item) => item.name);
}"""
NUMBER_OF = """(title) => [...document.querySelectorAll('.widget')].find((widget) =>
    widget.querySelector('.widget-handle').textContent === title)?.querySelector('.value')?.textContent"""


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for index in range(8):
        insert_event(project, now - timedelta(hours=index + 1), "user.signup")
    for index in range(2):
        insert_event(project, now - timedelta(hours=index + 1, minutes=5), "order.completed")
    return project


def build(page: object, title: str, widget_type: str, formula: str, compare: bool) -> None:
    page.click("#add-widget")
    page.fill("#editor [name=title]", title)
    page.select_option("#editor [name=type]", widget_type)
    page.fill("#editor [name=name]", "order.completed")
    page.fill("#editor [name=more]", "user.signup")
    page.fill("#editor [name=formula]", formula)
    page.fill("#editor [name=formula_alias]", "Conversion")
    if compare:
        page.check("#editor [name=compare]")
    page.wait_for_function("(type) => document.querySelector('#preview').dataset.type === type", arg=widget_type)
    page.click("#editor-save")


def test_a_conversion_rate_built_in_the_editor_with_the_previous_period_overlaid(
    page: object, live_flux: str, shop: Project
) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    build(page, "Conversion rate", "number", "a / b * 100", compare=False)
    page.wait_for_function(f"({NUMBER_OF})('Conversion rate') === '25'")
    build(page, "Conversion over time", "graph", "a / b", compare=True)
    page.wait_for_function(f"({SERIES_NAMES})('Conversion over time')?.length === 2")
    assert page.evaluate(SERIES_NAMES, "Conversion over time") == ["Conversion", "Conversion (previous period)"]
    stored = Widget.objects.get(dashboard__project=shop, title="Conversion over time")
    assert stored.query["more"] == [{"source": "events", "name": "user.signup", "aggregation": "count", "filters": {}}]
    assert (stored.query["formula"], stored.display["compare"]) == ("a / b", "previous")


def test_a_bad_formula_is_explained_in_the_editor(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.click("#add-widget")
    page.fill("#editor [name=name]", "order.completed")
    page.fill("#editor [name=formula]", "a / c")
    page.wait_for_selector("#editor-error:not([hidden])")
    assert "may name only the queries a" in page.inner_text("#editor-error")
