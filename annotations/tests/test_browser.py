"""Annotations in a real browser: markers on a dashboard graph and the metric page, one added by clicking a
graph, one pushed live from the API, one deleted from the list."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from annotations.models import Annotation
from dashboards.services import create_dashboard
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from flux.tests.browser import log_in, wait_loaded
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]
GRAPH = {"title": "Signups", "type": "graph", "query": {"source": "events", "name": "user.signup", "interval": "1h"},
         "position": {"x": 0, "y": 0, "w": 12, "h": 4}}  # fmt: skip
MARKERS_ARE = """([id, lines, areas]) => {
    const chart = echarts.getInstanceByDom(document.querySelector(`[data-widget-id="${id}"] .chart`));
    const series = chart && chart.getOption().series.find((item) => item.id === 'flux-annotations');
    return Boolean(series) && series.markLine.data.length === lines && series.markArea.data.length === areas;
}"""


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for index in range(6):
        insert_event(project, now - timedelta(hours=index + 1), "user.signup", user_id=f"u{index}")
    latency = make_series(project, "api.latency", "gauge")
    for minute in range(0, 120, 5):
        insert_point(latency, now - timedelta(minutes=minute + 1), 20.0 + minute)
    Annotation.objects.create(project=project, starts_at=now - timedelta(hours=3), text="Deploy v1", created_by="ci")
    Annotation.objects.create(project=project, starts_at=now - timedelta(hours=5), ends_at=now - timedelta(hours=4),
                              text="Campaign", created_by="ci")  # fmt: skip
    return project


def test_markers_show_a_click_adds_one_a_push_adds_another_and_delete_removes(
    page: object, live_flux: str, shop: Project
) -> None:
    dashboard = create_dashboard(shop, "Launch", widgets=[GRAPH])
    widget_id = dashboard.widgets.get().pk
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/{dashboard.slug}/")
    wait_loaded(page)
    page.wait_for_function(MARKERS_ARE, [widget_id, 1, 1])
    assert page.locator("#annotation-count").inner_text() == "2"
    page.click("#annotations-panel summary")  # the list opens under the dashboard

    chart = page.locator(f'[data-widget-id="{widget_id}"] .chart').bounding_box()
    page.mouse.click(chart["x"] + chart["width"] * 0.6, chart["y"] + 28)  # an empty spot near the top of the plot
    page.wait_for_selector("#annotation-dialog[open]")
    clicked_at = page.input_value("#annotation-form [name=time]")
    page.fill("#annotation-form [name=text]", "Price change")
    page.fill("#annotation-form [name=tags]", "team=growth")
    page.click("#annotation-form button[value=save]")
    page.wait_for_selector("#annotation-list >> text=Price change")
    created = Annotation.objects.get(project=shop, text="Price change")
    assert created.tags == {"team": "growth"} and created.created_by == "olivia"
    assert created.starts_at == datetime.fromisoformat(clicked_at)
    assert datetime.now(UTC) - timedelta(hours=25) < created.starts_at < datetime.now(UTC)

    ingest_key = issue_key(shop, "ingest").raw_key  # sent to the server, which pushes to the open page
    response = page.request.post(f"{live_flux}/api/v1/annotations", headers={"Authorization": f"Bearer {ingest_key}"},
                                 data={"text": "Deploy v2"})  # fmt: skip
    assert response.status == 201
    page.wait_for_selector("#annotation-list >> text=Deploy v2")  # pushed over the dashboard's socket
    page.wait_for_function(MARKERS_ARE, [widget_id, 3, 1])

    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#annotation-list li[data-id='{created.pk}'] button[data-action=delete-annotation]")
    page.wait_for_function(f"!document.querySelector(\"#annotation-list li[data-id='{created.pk}']\")")
    assert not Annotation.objects.filter(pk=created.pk).exists()


def test_the_metric_page_draws_the_markers_too(page: object, live_flux: str, shop: Project) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/metrics/api.latency/?range=last_24h")
    page.wait_for_function("document.querySelector('#metric-chart').dataset.annotations === '2'")
    counts = page.evaluate("""() => {
        const series = echarts.getInstanceByDom(document.querySelector('#metric-chart')).getOption().series;
        const marks = series.find((item) => item.id === 'flux-annotations');
        return [marks.markLine.data.length, marks.markArea.data.length];
    }""")
    assert counts == [1, 1]
