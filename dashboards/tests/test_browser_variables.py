"""Dashboard variables in a real browser: choose tag values, see them applied to the widgets whose series
carry the tag (the others marked), kept in the address; add a variable (Debian's chromium)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.models import Dashboard
from dashboards.services import add_widget, update_dashboard
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in, wait_loaded
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

NUMBER_OF = """(title) => [...document.querySelectorAll('.widget')].find((widget) =>
    widget.querySelector('.widget-handle').textContent === title).querySelector('.value').textContent"""
MARK_OF = """(title) => {
    const widget = [...document.querySelectorAll('.widget')].find((item) =>
        item.querySelector('.widget-handle').textContent === title);
    const mark = widget.querySelector('.not-applied');
    return mark ? mark.textContent : null;
}"""


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for country, count in (("DE", 3), ("FR", 2), ("US", 1)):
        for index in range(count):
            insert_event(project, now - timedelta(minutes=10 + index), "order.completed", tags={"country": country})
    insert_point(make_series(project, "api.latency", "distribution", route="/"), now - timedelta(minutes=2), 120.0)
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    dashboard.widgets.all().delete()
    update_dashboard(dashboard, {"settings": {"variables": [{"tag": "country", "multi": True}]}})
    for index, (title, query) in enumerate((
        ("Orders", {"name": "order.completed"}),
        ("Latency", {"source": "metric", "name": "api.latency", "aggregation": "max"}),
    )):  # fmt: skip
        add_widget(dashboard, {"title": title, "type": "number", "query": query,
                               "position": {"x": 3 * index, "y": 0, "w": 3, "h": 2}})  # fmt: skip
    return project


def test_choosing_values_filters_the_widgets_with_the_tag_and_marks_the_others(
    page: object, live_flux: str, shop: Project
) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    assert page.evaluate(NUMBER_OF, "Orders") == "6" and page.evaluate(MARK_OF, "Latency") is None
    page.click("details.variable summary")
    page.wait_for_selector("details.variable input[value=FR]")
    page.check("details.variable input[value=DE]")
    page.wait_for_function(f"({NUMBER_OF})('Orders') === '3'")
    page.check("details.variable input[value=FR]")
    page.wait_for_function(f"({NUMBER_OF})('Orders') === '5'")
    assert page.evaluate(MARK_OF, "Latency") == "country: not applied"
    assert page.evaluate(NUMBER_OF, "Latency") == "120"
    assert page.evaluate(MARK_OF, "Orders") is None
    assert "var%5Bcountry%5D=DE%2CFR" in page.url
    page.reload()
    wait_loaded(page)
    assert page.evaluate(NUMBER_OF, "Orders") == "5"
    assert page.inner_text("details.variable summary") == "country: DE, FR"


def test_an_editor_adds_a_single_value_variable(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.click("details.variable-editor summary")
    page.fill("#add-variable [name=tag]", "plan")
    page.click("#add-variable button[type=submit]")
    page.wait_for_selector("select[data-variable=plan]")
    variables = Dashboard.objects.get(project=shop, is_default=True).settings["variables"]
    assert variables == [{"tag": "country", "multi": True, "selected": []},
                         {"tag": "plan", "multi": False, "selected": []}]  # fmt: skip
