"""The overview, the events and metrics explorers and dashboard export/import, in a real browser
(Debian's chromium through Playwright against Flux under uvicorn; see conftest.live_flux)."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key
from flux.tests.browser import DRAWN, log_in, wait_loaded
from flux.web.redis_store import redis_client, redis_key
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> Project:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    stale = list(redis_client().scan_iter(f"{redis_key('ingest', project.pk)}:*"))
    if stale:
        redis_client().delete(*stale)
    now = datetime.now(UTC)
    for index in range(6):
        tags = {"plan": "pro" if index % 2 else "free"}
        insert_event(project, now - timedelta(hours=index + 1), "user.signup", user_id=f"u{index}", tags=tags,
                     properties={"referrer": f"site-{index}"})  # fmt: skip
    insert_event(project, now - timedelta(minutes=30), "order.completed", user_id="u1", value=42.0)
    latency = make_series(project, "api.latency", "distribution", route="/")
    checkout = make_series(project, "api.latency", "distribution", route="/checkout")
    for minute in range(0, 120, 5):
        insert_point(latency, now - timedelta(minutes=minute + 1), 20.0 + minute)
        insert_point(checkout, now - timedelta(minutes=minute + 1), 200.0 + minute)
    make_series(project, "queue.depth", "gauge", queue="mail")
    return project


def post_event(page: object, base_url: str, key: str, body: object) -> int:
    path = "/api/v1/events/batch" if isinstance(body, list) else "/api/v1/events"
    return page.request.post(f"{base_url}{path}", data=body, headers={"Authorization": f"Bearer {key}"}).status


def test_the_overview_shows_what_came_in_and_updates_live(page: object, live_flux: str, shop: Project) -> None:
    ingest_key = issue_key(shop, "ingest").raw_key
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    wait_loaded(page)
    assert page.inner_text('#card-events [data-field="total"]') == "7"
    assert page.inner_text('#card-points [data-field="total"]') == "48"
    assert page.locator("#top-events tbody tr").first.inner_text().startswith("user.signup\t6")
    assert page.locator("#active-metrics tbody tr").first.inner_text().startswith("api.latency\tdistribution\t48")
    assert page.evaluate(DRAWN, "#trend")
    page.wait_for_function("!document.getElementById('week-summary').classList.contains('muted')")
    assert page.inner_text("#week-summary").startswith("The project received 7 events in the last 7 days")
    page.wait_for_function("document.body.dataset.live === 'true'")
    assert post_event(page, live_flux, ingest_key, [{"name": "user.signup"}, {"name": "bad\nname"}]) == 202
    page.wait_for_function(
        "document.querySelector('#card-events [data-field=total]').textContent === '8'", timeout=15_000
    )
    assert page.inner_text('#card-rejected [data-field="rejected"]') == "1"
    assert "event #1" in page.inner_text("#rejections") and "name" in page.inner_text("#rejections")
    assert page.inner_text('#card-last [data-field="last"]').endswith("s ago")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload


def test_the_events_explorer_filters_tails_and_shows_an_event(page: object, live_flux: str, shop: Project) -> None:
    ingest_key = issue_key(shop, "ingest").raw_key
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/events/?name=user.*")
    wait_loaded(page)
    assert page.locator("#events tbody tr").count() == 6
    assert page.inner_text("#summary").startswith("6 events")
    page.fill("input[name=tags]", "plan=pro")
    page.click("#filters button[type=submit]")
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length === 3")
    assert "tags=plan%3Dpro" in page.url  # the filters are in the address, to share or reload
    page.locator("#events tbody tr").first.click()
    page.wait_for_selector("#detail:not([hidden])")
    assert '"referrer": "site-1"' in page.inner_text("#detail-properties")
    assert "u1" in page.inner_text("#detail-fields")
    page.click("#close-detail")
    page.locator("#events tbody tr").first.focus()  # with the keyboard: a row is reached and opened too
    page.keyboard.press("Enter")
    page.wait_for_selector("#detail:not([hidden])")
    page.wait_for_function("document.body.dataset.live === 'true'")
    # The free-plan event first: the fetch that brings the matching one reads past it.
    assert (
        post_event(page, live_flux, ingest_key, {"name": "user.signup", "user_id": "free", "tags": {"plan": "free"}})
        == 202
    )
    assert (
        post_event(page, live_flux, ingest_key, {"name": "user.signup", "user_id": "tail", "tags": {"plan": "pro"}})
        == 202
    )
    page.wait_for_function(
        "[...document.querySelectorAll('#events tbody tr')].some((row) => row.textContent.includes('tail'))",
        timeout=10_000,
    )
    newest = page.locator("#events tbody tr").first
    assert "tail" in newest.inner_text() and "fresh" in newest.get_attribute("class")
    assert page.locator("#events tbody tr").count() == 4  # the free-plan event does not match the filter


def test_the_metrics_explorer_finds_a_metric_and_its_page_charts_it(
    page: object, live_flux: str, shop: Project
) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/metrics/")
    wait_loaded(page)
    assert page.locator("#metrics tbody tr").count() == 2
    page.select_option("select[name=type]", "gauge")
    assert page.locator("#metrics tbody tr").count() == 1
    page.select_option("select[name=type]", "")
    page.fill("input[name=tag]", "route=/checkout")
    assert page.locator("#metrics tbody tr").count() == 1
    page.click("text=api.latency")
    page.wait_for_url(f"{live_flux}/p/{shop.slug}/metrics/api.latency/")
    wait_loaded(page)
    assert page.evaluate(DRAWN, "#metric-chart")
    stats = page.inner_text("#summary")
    assert "points\n48" in stats and "p95" in stats
    page.evaluate("delete document.body.dataset.loadedAt")
    page.select_option("select[name=group_by]", "tags.route")
    wait_loaded(page)
    legend = page.evaluate(
        "echarts.getInstanceByDom(document.getElementById('metric-chart')).getOption().series"
        ".filter(s => s.id !== 'flux-annotations').map(s => s.name)"  # the annotation markers' series aside
    )
    assert sorted(legend) == ["route=/", "route=/checkout"]


def test_a_dashboard_exports_to_a_file_and_imports_back(
    page: object, live_flux: str, shop: Project, tmp_path: Path
) -> None:
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/")
    with page.expect_download() as download_info:
        page.click("tr[data-name='Key metrics'] button[data-action=export]")
    exported = tmp_path / "exported.json"
    download_info.value.save_as(exported)
    document = json.loads(exported.read_text())
    assert document["name"] == "Key metrics" and len(document["widgets"]) == 5
    document["name"] = "Imported copy"
    exported.write_text(json.dumps(document))
    page.set_input_files("#import-file", str(exported))
    page.wait_for_url(f"{live_flux}/p/{shop.slug}/dashboards/imported-copy/")
    wait_loaded(page)
    assert page.locator(".grid-stack-item").count() == 5
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    page.goto(f"{live_flux}/p/{shop.slug}/dashboards/")
    page.set_input_files("#import-file", str(broken))
    page.wait_for_selector("#list-error:not([hidden])")
    assert "not JSON" in page.inner_text("#list-error")


def in_own_thread(function: object, *args: object) -> object:
    import threading

    from django.db import connection

    result: list = []

    def run() -> None:
        try:
            result.append(function(*args))
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    return result[0]


def open_spike(project: Project, name: str = "user.signup", severity: str = "critical") -> object:
    from anomalies import services
    from anomalies.services import Verdict
    from anomalies.tests.factories import make_watch

    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    verdict = Verdict(hour, 3600, True, 0.95, severity, "spike", "up", 90.0, 30.0, 20.0, 40.0, episode_start=hour)
    _, anomaly = services.apply_verdict(make_watch(project, name), verdict, hour)
    services.set_explanation(anomaly, {"text": "80% of the rise is plan=pro.", "contributors": [
        {"tag": "plan", "value": "pro", "actual": 70.0, "expected": 22.0, "share": 0.8}]})  # fmt: skip
    return anomaly


def test_anomalies_are_listed_shown_with_their_band_and_acknowledged(
    page: object, live_flux: str, shop: Project
) -> None:
    anomaly = open_spike(shop)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    wait_loaded(page)
    assert page.inner_text("#open-anomalies") == "1"  # the nav says there is something to look at
    assert "user.signup" in page.inner_text("#overview-anomalies")
    page.click("nav >> text=Anomalies")
    wait_loaded(page)
    row = page.locator("#anomalies tbody tr").first
    assert "critical" in row.inner_text() and "spike +200%" in row.inner_text()
    row.locator("a").click()
    page.wait_for_url(f"{live_flux}/p/{shop.slug}/anomalies/{anomaly.pk}/")
    wait_loaded(page)
    assert page.evaluate(DRAWN, "#anomaly-chart")
    assert "90 events an hour where 30 were expected" in page.inner_text("#summary")
    assert page.inner_text("#explanation") == "80% of the rise is plan=pro."
    page.fill("#note", "campaign went live")
    page.click("button[data-action=acknowledge]")
    page.wait_for_function("document.getElementById('status').textContent === 'acknowledged'")
    assert "olivia" in page.inner_text("#facts") and "campaign went live" in page.inner_text("#facts")
    unmute_hidden = "document.querySelector('#mute option[value=unmute]').hidden"
    assert page.evaluate(unmute_hidden)  # nothing to unmute yet
    page.select_option("#mute", "24")
    assert "series muted until" not in page.inner_text("#facts")  # choosing is not muting: Apply mutes
    from anomalies.models import Watch

    assert Watch.objects.get(pk=anomaly.watch_id).muted_until is None
    page.click("#mute-apply")
    page.wait_for_function("document.getElementById('facts').textContent.includes('series muted until')")
    assert not page.evaluate(unmute_hidden)


def test_an_open_dashboard_toasts_a_new_anomaly_and_marks_it_on_graphs(
    page: object, live_flux: str, shop: Project
) -> None:
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.wait_for_function("document.body.dataset.live === 'true'")
    assert page.locator("#open-anomalies").count() == 0
    anomaly = in_own_thread(open_spike, shop)  # publishing needs a thread without Playwright's event loop
    toast = page.wait_for_selector(".toast", timeout=10_000)
    assert "critical spike in user.signup (+200%)" in toast.inner_text()
    assert page.inner_text("#open-anomalies") == "1"  # the navigation's badge, without a reload
    assert toast.get_attribute("href") == f"/p/{shop.slug}/anomalies/{anomaly.pk}/"
    page.reload()
    wait_loaded(page)
    marked = page.locator("[data-type=graph] .widget-body").first
    assert marked.get_attribute("data-anomalies") == "1"  # the default graph reads every event name


def test_anomaly_settings_tune_a_series_and_add_a_channel(page: object, live_flux: str, shop: Project) -> None:
    open_spike(shop)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/anomalies/settings/")
    wait_loaded(page)
    page.select_option("#project-settings select[name=sensitivity]", "high")
    page.wait_for_function("document.getElementById('settings-saved').textContent === 'Saved.'")
    with page.expect_response(lambda response: response.request.method == "PATCH") as saved:
        page.select_option("#series tbody tr select", "low")
    assert saved.value.status == 200
    from anomalies.models import DetectionSettings, Watch

    assert DetectionSettings.objects.get(project=shop).sensitivity == "high"
    assert Watch.objects.get(project=shop, name="user.signup").sensitivity == "low"
    page.fill("#new-channel input[name=name]", "Ops mail")
    page.select_option("#new-channel select[name=kind]", "email")
    page.fill("#new-channel input[name=target]", "ops@example.com")
    page.click("#new-channel button[type=submit]")
    page.wait_for_selector("#channels tbody tr")
    page.click("#channels button[data-action=test]")
    page.wait_for_selector("#deliveries:not([hidden]) tbody tr")
    assert "delivered" in page.inner_text("#deliveries")  # the console mail backend accepts it


def test_names_with_spaces_and_other_scripts_show_and_open(page: object, live_flux: str, shop: Project) -> None:
    now = datetime.now(UTC)
    insert_event(shop, now - timedelta(minutes=10), "Signed Up", user_id="u-space")
    insert_event(shop, now - timedelta(minutes=10), "café.visit", user_id="u-cafe")
    insert_point(make_series(shop, "checkout 🛒 total #1", "gauge", région="île"), now - timedelta(minutes=3), 12.5)
    log_in(page, live_flux, "olivia", "correct horse", to_dashboard=False)
    page.goto(f"{live_flux}/p/{shop.slug}/events/?name=Signed%20Up")
    wait_loaded(page)
    assert page.locator("#events tbody tr").count() == 1
    assert "Signed Up" in page.inner_text("#events tbody")
    page.goto(f"{live_flux}/p/{shop.slug}/metrics/")
    wait_loaded(page)
    page.click("text=checkout 🛒 total #1")
    page.wait_for_url(f"{live_flux}/p/{shop.slug}/metrics/checkout%20%F0%9F%9B%92%20total%20%231/")
    wait_loaded(page)
    assert "checkout 🛒 total #1" in page.inner_text("h1")
    assert page.evaluate(DRAWN, "#metric-chart")
