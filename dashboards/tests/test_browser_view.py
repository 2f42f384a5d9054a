"""The dashboard as people read it, in a real browser: TV mode and its way out, table shares only for
additive measures, the overflow group's name, the icon (Debian's chromium; see conftest.live_flux)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.models import Dashboard
from dashboards.services import add_widget
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in, wait_loaded
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

VISIBLE = "(selector) => [...document.querySelectorAll(selector)].some((element) => element.offsetParent !== null)"
BAR_LABELS = """(title) => {
    const widget = [...document.querySelectorAll('.widget')].find((item) => item.querySelector('.widget-handle')
        .textContent === title);
    return echarts.getInstanceByDom(widget.querySelector('.chart')).getOption().xAxis[0].data;
}"""


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for index, plan in enumerate(["pro", "pro", "pro", "free", "free", "team"]):
        insert_event(project, now - timedelta(hours=index + 1), "user.signup", tags={"plan": plan})
    for route, base in (("/", 20.0), ("/checkout", 200.0)):
        series = make_series(project, "api.latency", "distribution", route=route)
        for minute in range(0, 60, 5):
            insert_point(series, now - timedelta(minutes=minute + 1), base + minute)
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    widgets = [
        ("Latency by route", "table", {"source": "metric", "name": "api.latency", "aggregation": "p95",
                                       "group_by": "tags.route"}, {}),
        ("Signups by plan", "table", {"name": "user.signup", "group_by": "tags.plan"}, {}),
        ("Top plan", "bar", {"name": "user.signup", "group_by": "tags.plan"}, {"limit": 1}),
    ]  # fmt: skip
    for index, (title, widget_type, query, display) in enumerate(widgets):
        add_widget(dashboard, {"title": title, "type": widget_type, "query": query, "display": display,
                               "position": {"x": 4 * index, "y": 20, "w": 4, "h": 3}})  # fmt: skip
    return project


def table_headers(page: object, title: str) -> list[str]:
    widget = page.locator(".widget", has=page.locator(".widget-handle", has_text=title))
    return widget.locator("thead th").all_inner_texts()


def test_shares_only_for_counts_and_sums_and_the_overflow_group_reads_other(
    page: object, live_flux: str, shop: Project
) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    assert table_headers(page, "Latency by route") == ["#", "Key", "Value"]  # a p95 has no share of a total
    assert table_headers(page, "Signups by plan") == ["#", "Key", "Value", "Share"]
    assert page.evaluate(BAR_LABELS, "Top plan") == ["pro", "Other"]


def test_tv_mode_hides_editing_and_leaving_full_screen_leaves_it(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    assert page.evaluate(VISIBLE, ".widget-actions")
    page.click("#tv")
    page.wait_for_function("document.body.classList.contains('tv') && document.fullscreenElement !== null")
    assert not page.evaluate(VISIBLE, ".widget-actions, .ui-resizable-handle, .controls, .topbar")
    page.evaluate("document.exitFullscreen()")  # what Esc or the browser's own control does
    page.wait_for_function("!document.body.classList.contains('tv')")
    assert page.evaluate(VISIBLE, ".widget-actions") and page.evaluate(VISIBLE, ".controls")

    page.click("#tv")  # the page's own way out works as well
    page.wait_for_function("document.fullscreenElement !== null")
    page.click("#exit-tv")
    page.wait_for_function("!document.body.classList.contains('tv') && document.fullscreenElement === null")


def test_every_page_has_an_icon(page: object, live_flux: str) -> None:
    response = page.goto(f"{live_flux}/favicon.ico")
    assert response.status == 200 and response.headers["content-type"].startswith("image/svg+xml")
    page.goto(f"{live_flux}/login/")
    icon = page.get_attribute("link[rel=icon]", "href")
    assert page.request.get(f"{live_flux}{icon}").status == 200
