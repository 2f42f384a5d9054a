"""Zoom and drill-down in a real browser: drag across a graph to zoom the whole dashboard (and go back);
click a point or a bar to open the events explorer on that series, bucket and tag value."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.models import Dashboard
from dashboards.services import add_widget
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

# Where on the page a graph's point is drawn: [x, y] in page pixels (ECharts knows, from its own axes).
POINT_AT = """([title, key, time]) => {
    const widget = [...document.querySelectorAll('.widget')].find((item) =>
        item.querySelector('.widget-handle').textContent === title);
    const element = widget.querySelector('.chart');
    const chart = echarts.getInstanceByDom(element);
    const series = chart.getOption().series.findIndex((item) => item.name === key);
    const point = chart.getOption().series[series].data.find((item) => item[0] === time);
    const [x, y] = chart.convertToPixel({ seriesIndex: series }, point);
    const box = element.getBoundingClientRect();
    return [box.left + x, box.top + y];
}"""


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, datetime]:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    for offset, plan, count in ((0, "pro", 5), (0, "free", 1), (2, "pro", 2), (4, "free", 3)):
        for index in range(count):
            insert_event(
                project, hour + timedelta(hours=offset, minutes=10 + index), "user.signup", tags={"plan": plan}
            )
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    dashboard.widgets.all().delete()
    add_widget(dashboard, {"title": "Signups by plan", "type": "graph",
                           "query": {"name": "user.signup", "group_by": "tags.plan", "interval": "1h"},
                           "position": {"x": 0, "y": 0, "w": 8, "h": 4}})  # fmt: skip
    add_widget(dashboard, {"title": "Plans", "type": "bar", "query": {"name": "user.signup", "group_by": "tags.plan"},
                           "position": {"x": 8, "y": 0, "w": 4, "h": 4}})  # fmt: skip
    add_widget(dashboard, {"title": "Total", "type": "number", "query": {"name": "user.signup"},
                           "position": {"x": 0, "y": 4, "w": 3, "h": 2}})  # fmt: skip
    return project, hour


def test_dragging_across_a_graph_zooms_every_widget_and_back_returns(
    page: object, live_flux: str, shop: tuple[Project, datetime]
) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    assert page.inner_text("[data-type=number] .value") == "11"
    start = page.evaluate(POINT_AT, ["Signups by plan", "pro", shop[1].strftime("%Y-%m-%dT%H:%M:%SZ")])
    end = page.evaluate(
        POINT_AT, ["Signups by plan", "pro", (shop[1] + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    )
    middle = (start[1] + end[1]) / 2  # inside the plot, below the top point and above the axis
    page.mouse.move(start[0] - 2, middle)
    page.mouse.down()
    page.mouse.move(end[0], middle, steps=10)
    page.mouse.up()
    page.wait_for_function("document.querySelector('[data-type=number] .value').textContent === '8'")
    assert page.input_value("#range") == "custom" and "from=" in page.url
    assert page.is_visible("#zoom-back")
    page.click("#zoom-back")
    page.wait_for_function("document.querySelector('[data-type=number] .value').textContent === '11'")
    assert page.input_value("#range") == "-24h" and not page.is_visible("#zoom-back")


def test_clicking_a_point_opens_the_events_of_that_series_and_bucket(
    page: object, live_flux: str, shop: tuple[Project, datetime]
) -> None:
    project, hour = shop
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    x, y = page.evaluate(
        POINT_AT, ["Signups by plan", "pro", (hour + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    )
    page.mouse.click(x, y)
    page.wait_for_url(f"{live_flux}/p/{project.slug}/events/**")
    wait_loaded(page)
    assert page.input_value("input[name=tags]") == "plan=pro" and page.input_value("input[name=name]") == "user.signup"
    assert page.input_value("select[name=range]") == "custom"
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length === 2")


# What ECharts finds under the pointer at [x, y] page pixels of a graph: the line, the highlighted point, nothing.
HOVERED = """([title, x, y]) => {
    const widget = [...document.querySelectorAll('.widget')].find((item) =>
        item.querySelector('.widget-handle').textContent === title);
    const element = widget.querySelector('.chart');
    const box = element.getBoundingClientRect();
    const hovered = echarts.getInstanceByDom(element).getZr().handler.findHover(x - box.left, y - box.top).target;
    return hovered ? hovered.id : null;
}"""


def test_a_click_whose_press_and_release_find_different_elements_still_opens_the_events(
    page: object, live_flux: str, shop: tuple[Project, datetime]
) -> None:
    """What lies under the pointer changes with what was painted last (the hovered point's highlight comes a
    frame later), so the press and the release of one click can find different elements: the line, then
    the highlight, or nothing a few pixels off the line. It is still a click on that point."""
    project, hour = shop
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    x, y = page.evaluate(
        POINT_AT, ["Signups by plan", "pro", (hour + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    )
    page.mouse.move(x, y)
    page.mouse.down()
    pressed_on = page.evaluate(HOVERED, ["Signups by plan", x, y])
    page.mouse.move(x, y + 10)
    assert page.evaluate(HOVERED, ["Signups by plan", x, y + 10]) != pressed_on
    page.mouse.up()
    page.wait_for_url(f"{live_flux}/p/{project.slug}/events/**")
    assert page.input_value("input[name=tags]") == "plan=pro"


def test_clicking_a_bar_opens_the_events_of_that_group_over_the_range(
    page: object, live_flux: str, shop: tuple[Project, datetime]
) -> None:
    project, _ = shop
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    bar = page.evaluate("""() => {
        const widget = [...document.querySelectorAll('.widget')].find((item) =>
            item.querySelector('.widget-handle').textContent === 'Plans');
        const element = widget.querySelector('.chart');
        const chart = echarts.getInstanceByDom(element);
        const index = chart.getOption().xAxis[0].data.indexOf('free');
        const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [index, 1]);
        const box = element.getBoundingClientRect();
        return [box.left + x, box.top + y - 2];
    }""")
    page.mouse.click(*bar)
    page.wait_for_url(f"{live_flux}/p/{project.slug}/events/**")
    wait_loaded(page)
    assert page.input_value("input[name=tags]") == "plan=free"
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length === 4")
