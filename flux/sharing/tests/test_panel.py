"""The share panel on the dashboard page: registered by this feature (flux.web.pages), since the dashboards app
names no feature."""

from django.contrib.auth.models import User
from django.test import Client

from flux.tenants.models import Project
from flux.web.pages import page_panels, register_page_panel


def test_the_dashboard_page_shows_an_editor_the_share_panel_and_loads_its_script_once(
    client: Client, alice: User, project: Project
) -> None:
    client.force_login(alice)
    html = client.get(f"/p/{project.slug}/dashboards/key-metrics/").content.decode()
    assert html.count('id="share-panel"') == 1
    assert html.count('src="/static/js/sharing.js"') == 1
    assert html.index('src="/static/js/exports.js"') < html.index('src="/static/js/sharing.js"')


def test_registering_a_panel_again_does_not_show_it_twice() -> None:
    before = page_panels("dashboard")
    register_page_panel("dashboard", "sharing/panel.html", "js/sharing.js")
    assert page_panels("dashboard") == before
