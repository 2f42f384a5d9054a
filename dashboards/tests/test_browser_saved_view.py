"""The saved view in a real browser: range, timezone, filters, variables and refresh chosen on the page and
saved become what the dashboard opens on (Debian's chromium; see conftest.live_flux)."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.models import Dashboard
from dashboards.services import update_dashboard
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project
from flux.tests.browser import log_in, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for country in ("DE", "FR"):
        insert_event(project, now - timedelta(minutes=10), "user.signup", tags={"country": country})
    dashboard = Dashboard.objects.get(project=project, is_default=True)
    update_dashboard(dashboard, {"settings": {"variables": [{"tag": "country", "multi": False}]}})
    return project


def test_the_saved_view_is_what_the_dashboard_opens_on(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.select_option("#range", "-7d")
    page.fill("#timezone", "Europe/Berlin")
    page.press("#timezone", "Enter")
    page.select_option("#refresh", "1m")
    page.wait_for_selector("select[data-variable=country] option[value=DE]", state="attached")
    page.select_option("select[data-variable=country]", "DE")
    page.click("#save-view")
    page.wait_for_function("document.getElementById('view-status').textContent === 'View saved.'")
    settings = Dashboard.objects.get(project=shop, is_default=True).settings
    assert settings == {"range": "7d", "timezone": "Europe/Berlin", "refresh": "1m", "filters": {},
                        "variables": [{"tag": "country", "multi": False, "selected": ["DE"]}]}  # fmt: skip

    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/key-metrics/")  # no view in the address
    wait_loaded(page)
    assert page.input_value("#range") == "-7d" and page.input_value("#timezone") == "Europe/Berlin"
    assert page.input_value("#refresh") == "1m" and page.input_value("select[data-variable=country]") == "DE"


def test_a_calendar_period_can_be_saved_but_a_custom_range_cannot(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.select_option("#range", "period:last_week")
    page.click("#save-view")
    page.wait_for_function("document.getElementById('view-status').textContent === 'View saved.'")
    assert Dashboard.objects.get(project=shop, is_default=True).settings["range"] == "last_week"
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/key-metrics/")
    wait_loaded(page)
    assert page.input_value("#range") == "period:last_week"
    page.select_option("#range", "custom")
    page.click("#save-view")
    assert "custom range cannot" in page.inner_text("#dashboard-error")
    assert Dashboard.objects.get(project=shop, is_default=True).settings["range"] == "last_week"
