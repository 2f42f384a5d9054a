"""Every page for everyone: axe-core finds no serious or critical accessibility violation (light and dark),
and at a phone's width (390 px) no page scrolls sideways and every navigation link is on screen."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from anomalies import thresholds
from anomalies.tests.factories import make_watch, open_anomaly
from conftest import watched_page
from dashboards.models import Dashboard
from dashboards.services import add_widget, update_dashboard
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from flux.tests.browser import log_in
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

PAGES = [
    "/p/{slug}/", "/p/{slug}/dashboards/", "/p/{slug}/dashboards/key-metrics/", "/p/{slug}/events/",
    "/p/{slug}/metrics/", "/p/{slug}/metrics/api.latency/", "/p/{slug}/anomalies/", "/p/{slug}/anomalies/settings/",
    "/p/{slug}/anomalies/{anomaly}/", "/p/{slug}/setup/", "/p/{slug}/settings/",
]  # fmt: skip
# axe-core is vendored (static/vendor/README.md) and loaded from Flux's own origin, which the policy allows.
RUN_AXE = """async () => {
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.filter((item) => ["serious", "critical"].includes(item.impact))
        .map((item) => `${item.id}: ${item.nodes.slice(0, 3).map((node) => node.target.join(" ")).join(" | ")}`);
}"""
# What sticks out at the right: the innermost elements past the edge (not those a scroll box holds), to name.
WIDEST = """() => [...document.querySelectorAll('body *')]
    .filter((element) => !element.parentElement.closest('.table-scroll') && element.getBoundingClientRect().right > 391
        && ![...element.children].some((child) => child.getBoundingClientRect().right > 391))
    .slice(0, 4).map((element) => `${element.tagName}.${element.className}#${element.id}`)"""
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
OFF_SCREEN_LINKS = """() => [...document.querySelectorAll('.topbar a, .topbar button, .topbar select')]
    .filter((element) => element.getBoundingClientRect().right > window.innerWidth + 0.5)
    .map((element) => element.textContent.trim() || element.id)"""


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, int]:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    issue_key(project, "ingest", name="checkout service, web front end")  # the settings page lists it
    now = datetime.now(UTC)
    for index in range(6):
        insert_event(project, now - timedelta(hours=index + 1), "user.signup", user_id=f"u{index}",
                     tags={"plan": "pro" if index % 2 else "free", "country": "a-long-country-name"})  # fmt: skip
    series = make_series(project, "api.latency", "distribution", route="/checkout/with/a/long/path")
    for minute in range(0, 60, 5):
        insert_point(series, now - timedelta(minutes=minute + 1), 20.0 + minute)
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    variables = [{"tag": "country", "multi": True, "selected": []}, {"tag": "plan", "multi": False, "selected": []}]
    update_dashboard(dashboard, {"settings": {"variables": variables}})
    add_widget(dashboard, {"title": "Countries", "type": "table", "query": {"group_by": "tags.country"},
                           "position": {"x": 0, "y": 10, "w": 6, "h": 3}})  # fmt: skip
    # Critical: its badge is the page's strongest colour (white on the dark scheme's red was 2.77:1).
    hour_ago = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    anomaly = open_anomaly(make_watch(project), hour_ago, severity="critical")
    thresholds.create_rule(project, {"source": "metric", "name": "checkout.payment_provider.error_rate",
                                     "aggregation": "avg", "comparator": ">", "threshold": 0.02,
                                     "duration_minutes": 10})  # fmt: skip
    return project, anomaly.pk


def open_pages(page: object, base_url: str, project: Project, anomaly_id: int) -> Iterator[str]:
    """Visit every page, yielding its path once it has loaded its data."""
    for path in PAGES:
        response = page.goto(base_url + path.format(slug=project.slug, anomaly=anomaly_id))
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
        yield path


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_has_a_serious_accessibility_violation(
    chromium: object, live_flux: str, shop: tuple[Project, int], scheme: str
) -> None:
    project, anomaly_id = shop
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, color_scheme=scheme)
    page = watched_page(context)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    found = {}
    for path in open_pages(page, live_flux, project, anomaly_id):
        page.add_script_tag(url=f"{live_flux}/static/vendor/axe/axe.min.js")
        violations = page.evaluate(RUN_AXE)
        if violations:
            found[path] = violations
    context.close()
    assert found == {}, found
    assert page.csp_violations == []


def test_the_login_page_has_no_serious_accessibility_violation(page: object, live_flux: str) -> None:
    page.goto(f"{live_flux}/login/")
    page.add_script_tag(url=f"{live_flux}/static/vendor/axe/axe.min.js")
    assert page.evaluate(RUN_AXE) == []


def test_no_page_scrolls_sideways_on_a_phone(chromium: object, live_flux: str, shop: tuple[Project, int]) -> None:
    project, anomaly_id = shop
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = watched_page(context)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    overflowing, off_screen = {}, {}
    for path in open_pages(page, live_flux, project, anomaly_id):
        if page.evaluate(SIDEWAYS) > 0:
            overflowing[path] = page.evaluate(WIDEST)
        if page.evaluate(OFF_SCREEN_LINKS):
            off_screen[path] = page.evaluate(OFF_SCREEN_LINKS)
    context.close()
    assert overflowing == {}, overflowing
    assert off_screen == {}, off_screen
    assert page.csp_violations == []
