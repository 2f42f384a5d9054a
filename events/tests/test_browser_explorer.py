"""The events explorer's volume chart (click a bar to zoom), property filters and saved views, in a real
browser (Debian's chromium; see conftest.live_flux)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from events.models import SavedView
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import DRAWN, log_in, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

ROWS = "document.querySelectorAll('#events tbody tr').length"
# The page position of `time` over the volume chart's axis, low in the plot (ECharts knows, from its axes).
BAR_AT = """(time) => {
    const element = document.getElementById('volume');
    const chart = echarts.getInstanceByDom(element);
    const [x, y] = chart.convertToPixel({ seriesIndex: 0 }, [time, 0.5]);
    const box = element.getBoundingClientRect();
    return [box.left + x, box.top + y];
}"""


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, datetime]:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    for index in range(6):
        insert_event(project, hour + timedelta(minutes=5 + index), "user.signup",
                     properties={"referrer": "ad" if index % 2 else "search"})  # fmt: skip
    for index in range(3):
        insert_event(project, hour + timedelta(hours=2, minutes=5 + index), "user.signup",
                     properties={"referrer": "ad"})  # fmt: skip
    return project, hour


def test_the_volume_chart_draws_and_a_click_on_a_bar_zooms_to_it(
    page: object, live_flux: str, shop: tuple[Project, datetime]
) -> None:
    project, hour = shop
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{project.slug}/events/")
    wait_loaded(page)
    page.wait_for_function(f"{ROWS} === 9")
    page.wait_for_function("document.getElementById('volume').dataset.buckets")
    assert page.evaluate(DRAWN, "#volume")
    assert page.evaluate("document.getElementById('volume').dataset.interval") == "5m"
    page.mouse.click(*page.evaluate(BAR_AT, (hour + timedelta(minutes=7)).strftime("%Y-%m-%dT%H:%M:%SZ")))
    page.wait_for_function(f"{ROWS} === 5")  # 05:05 to 05:10: the sixth event came at 05:10
    assert page.input_value("select[name=range]") == "custom" and "from=" in page.url


def test_property_filters_and_a_saved_view_that_brings_them_back(
    page: object, live_flux: str, shop: tuple[Project, datetime]
) -> None:
    project, _ = shop
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{project.slug}/events/")
    wait_loaded(page)
    page.fill("input[name=properties]", "referrer=ad")
    page.click("#filters button[type=submit]")
    page.wait_for_function(f"{ROWS} === 6")
    assert "properties=referrer%3Dad" in page.url
    page.fill("#save-view [name=view_name]", "Signups from ads")
    page.click("#save-view button[type=submit]")
    page.wait_for_selector("#saved-views option:text('Signups from ads')", state="attached")
    assert SavedView.objects.get(project=project).params == {"properties": "referrer=ad", "range": "last_24h"}

    page.goto(f"{live_flux}/p/{project.slug}/events/")
    wait_loaded(page)
    page.wait_for_function(f"{ROWS} === 9")
    page.wait_for_selector("#saved-views option:text('Signups from ads')", state="attached")
    page.select_option("#saved-views", label="Signups from ads")
    page.wait_for_function(f"{ROWS} === 6")
    assert page.input_value("input[name=properties]") == "referrer=ad"
