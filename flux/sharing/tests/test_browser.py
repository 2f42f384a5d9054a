"""Share links in a real browser: an owner creates one on the dashboard, a stranger opens it in a fresh
browser without logging in and sees the data, live; `?kiosk=1` shows it without chrome."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.services import create_dashboard
from events.tests.factories import insert_event
from flux.sharing.models import ShareLink
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from flux.tests.browser import DRAWN, log_in, wait_loaded

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]
WIDGETS = [
    {"title": "Orders", "type": "number", "query": {"name": "order.completed"},
     "position": {"x": 0, "y": 0, "w": 4, "h": 2}},
    {"title": "Orders by hour", "type": "graph", "query": {"name": "order.completed", "interval": "1h"},
     "position": {"x": 4, "y": 0, "w": 8, "h": 4}},
]  # fmt: skip


@pytest.fixture
def shop(transactional_db: None) -> Project:
    project = create_project("Shop", owner=User.objects.create_user("olivia", password="correct horse"))
    now = datetime.now(UTC)
    for index in range(3):
        insert_event(project, now - timedelta(hours=index + 1), "order.completed")
    return project


def test_a_link_made_on_the_dashboard_opens_it_live_for_a_stranger(
    socket_rechecks_every_message: None, page: object, chromium: object, live_flux: str, shop: Project
) -> None:
    from conftest import watched_page

    dashboard = create_dashboard(shop, "Sales", widgets=WIDGETS)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/{dashboard.slug}/")
    wait_loaded(page)
    page.click("#share-panel summary")
    page.select_option("#new-share select[name=expires_in_days]", "7")
    page.click("#new-share button[type=submit]")
    page.wait_for_selector("#share-created:not([hidden])")
    url = page.get_attribute("#share-url", "href")
    assert url.startswith(f"{live_flux}/s/fxs_") and ShareLink.objects.get().expires_at is not None

    stranger = chromium.new_context(viewport={"width": 1280, "height": 900})  # no session, no cookies
    try:
        shared = watched_page(stranger)
        shared.goto(url)
        shared.wait_for_function("document.body.dataset.loadedAt && document.body.dataset.live")
        assert shared.inner_text("[data-type=number] .value") == "3"
        assert shared.evaluate(DRAWN, "[data-type=graph]")
        assert shared.locator("header.topbar, #add-widget, .widget-actions").count() == 0

        ingest_key = issue_key(shop, "ingest").raw_key
        response = shared.request.post(f"{live_flux}/api/v1/events", headers={"Authorization": f"Bearer {ingest_key}"},
                                       data={"name": "order.completed"})  # fmt: skip
        assert response.status == 202
        shared.wait_for_function("document.querySelector('[data-type=number] .value').textContent === '4'")

        shared.goto(f"{url}?kiosk=1")
        shared.wait_for_function("document.body.dataset.loadedAt && document.body.dataset.live")
        assert "kiosk" in shared.evaluate("document.body.className")
        assert not shared.is_visible(".shared-head .muted")

        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#share-links button[data-action=revoke-share]")
        page.wait_for_selector("#share-links >> text=revoked")
        assert page.request.get(url).status == 404
        shared.request.post(f"{live_flux}/api/v1/events", headers={"Authorization": f"Bearer {ingest_key}"},
                            data={"name": "order.completed"})  # the next push finds the link revoked  # fmt: skip
        # The screen still open says its numbers stopped (they stayed on it, as if live).
        shared.wait_for_selector("#live-status:not([hidden]) >> text=Live updates ended")
        assert shared.csp_violations == []
    finally:
        stranger.close()


def test_the_dashboard_page_in_kiosk_mode_has_no_chrome(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/key-metrics/?kiosk=1")
    wait_loaded(page)
    assert not page.is_visible("header.topbar") and not page.is_visible("#range")
    assert page.is_visible(".grid-stack")
