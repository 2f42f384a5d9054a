"""Every page is served under the Content-Security-Policy and the usual security headers, and nothing on
it is blocked (the `page` fixture fails any browser test on a CSP violation; this one visits every page)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from anomalies.tests.factories import make_watch, open_anomaly
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]

PAGES = [
    "/p/{slug}/", "/p/{slug}/dashboards/", "/p/{slug}/dashboards/key-metrics/", "/p/{slug}/events/",
    "/p/{slug}/metrics/", "/p/{slug}/metrics/api.latency/", "/p/{slug}/anomalies/", "/p/{slug}/anomalies/settings/",
    "/p/{slug}/anomalies/{anomaly}/", "/p/{slug}/setup/", "/admin/", "/admin/tenants/project/", "/api/docs",
]  # fmt: skip
HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
}


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, int]:
    owner = User.objects.create_superuser("olivia", "olivia@example.com", "correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for index in range(4):
        insert_event(project, now - timedelta(hours=index + 1), "user.signup", user_id=f"u{index}")
    series = make_series(project, "api.latency", "distribution", route="/")
    for minute in range(0, 60, 5):
        insert_point(series, now - timedelta(minutes=minute + 1), 20.0 + minute)
    anomaly = open_anomaly(make_watch(project), now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1))
    return project, anomaly.pk


def assert_secured(response: object) -> None:
    headers = response.all_headers()
    policy = headers.get("content-security-policy", "")
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, response.url
    directives = dict(directive.strip().split(" ", 1) for directive in policy.split(";"))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", response.url
    assert {name: headers.get(name) for name in HEADERS} == HEADERS, response.url
    assert "camera=()" in headers.get("permissions-policy", ""), response.url


def test_every_page_is_served_under_the_policy_and_nothing_is_blocked(
    page: object, live_flux: str, shop: tuple[Project, int]
) -> None:
    project, anomaly_id = shop
    assert_secured(page.goto(f"{live_flux}/login/"))
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    for path in PAGES:
        response = page.goto(live_flux + path.format(slug=project.slug, anomaly=anomaly_id))
        assert response.status == 200, path
        assert_secured(response)
        page.wait_for_load_state("networkidle")
        assert page.csp_violations == [], path
    page.goto(f"{live_flux}/p/{project.slug}/")
    page.select_option("#project-switcher", project.slug)  # the switcher's script is a file, not inline
    page.wait_for_load_state("networkidle")
    assert page.csp_violations == []
