"""The dashboard in a real browser: log in, see every widget drawn, drag and resize, change the range.

Debian's chromium through Playwright against Flux under uvicorn (conftest.live_flux); screenshots of each
test's last page land in var/test-artifacts/.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User

from dashboards.models import Dashboard, Widget
from dashboards.services import add_widget
from events.tests.factories import insert_event
from flux.tenants.models import Project
from flux.tenants.services import add_member, create_project
from flux.tests.browser import DRAWN, eventually, log_in, wait_loaded
from metrics.tests.factories import insert_point, make_series

pytestmark = [pytest.mark.e2e, pytest.mark.live_login]


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, User]:
    owner = User.objects.create_user("olivia", password="correct horse")
    project = create_project("Shop", owner=owner)
    now = datetime.now(UTC)
    for index in range(6):
        insert_event(project, now - timedelta(hours=index + 1), "user.signup", user_id=f"u{index % 4}",
                     tags={"plan": "pro" if index % 2 else "free"}, value=float(index))  # fmt: skip
    insert_event(project, now - timedelta(days=3), "user.signup", user_id="old", tags={"plan": "pro"})
    latency = make_series(project, "api.latency", "distribution", route="/")
    for minute in range(0, 120, 5):
        insert_point(latency, now - timedelta(minutes=minute + 1), 20.0 + minute)
    return project, owner


def test_log_in_see_every_widget_type_drawn_and_change_the_range(page: object, live_flux: str, shop: tuple) -> None:
    project, _ = shop
    overview = Dashboard.objects.get(project=project, is_default=True)
    add_widget(overview, {"title": "Plans", "type": "bar", "query": {"group_by": "tags.plan"},
                          "position": {"x": 0, "y": 10, "w": 4, "h": 3}})  # fmt: skip
    add_widget(overview, {"title": "Plan share", "type": "pie", "query": {"group_by": "tags.plan"},
                          "display": {"donut": True}, "position": {"x": 4, "y": 10, "w": 4, "h": 3}})  # fmt: skip
    add_widget(overview, {"title": "Latency", "type": "heatmap", "display": {"mode": "time_value"},
                          "query": {"source": "metric", "name": "api.latency"},
                          "position": {"x": 8, "y": 10, "w": 4, "h": 3}})  # fmt: skip

    log_in(page, live_flux, "olivia", "correct horse")
    page.wait_for_url(f"{live_flux}/p/{project.slug}/dashboards/key-metrics/")
    wait_loaded(page)
    events_number = page.locator("[data-type=number] .value").first
    assert events_number.inner_text() == "6"
    for widget_type in ("number", "graph", "bar", "pie", "heatmap"):
        assert page.evaluate(DRAWN, f"[data-type={widget_type}]"), f"{widget_type} chart not drawn"
    rows = page.locator("[data-type=table] tbody tr")
    assert rows.count() == 1 and "user.signup" in rows.first.inner_text()

    page.select_option("#range", "-7d")
    page.wait_for_function("document.querySelector('[data-type=number] .value').textContent === '7'")
    assert "range=-7d" in page.url


def test_dragging_and_resizing_are_saved_and_survive_a_reload(page: object, live_flux: str, shop: tuple) -> None:
    project, _ = shop
    overview = Dashboard.objects.get(project=project, is_default=True)
    first, second = list(Widget.objects.filter(dashboard=overview).order_by("pk"))[:2]
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)

    title = page.locator(f'[gs-id="{first.pk}"] .widget-handle')
    box = title.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + 20 + 640, box["y"] + 250, steps=12)
    page.mouse.up()

    def position_of(widget: Widget) -> dict:
        return Widget.objects.get(pk=widget.pk).position

    eventually(lambda: position_of(first)["x"] >= 4, "the move to the right saved")
    page.locator(f'[gs-id="{second.pk}"] .widget-title').hover()
    handle_box = page.locator(f'[gs-id="{second.pk}"] .ui-resizable-se').bounding_box()
    x, y = handle_box["x"] + handle_box["width"] / 2, handle_box["y"] + handle_box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 240, y + 180, steps=15)
    page.mouse.up()
    # taller than its 2 rows, and wider (one save holds every widget's position)
    eventually(lambda: position_of(second)["w"] > 4 and position_of(second)["h"] > 2, "the resize saved")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.position["x"] >= 4  # the move kept
    page.reload()
    wait_loaded(page)
    for widget in (first, second):
        node = page.locator(f'[gs-id="{widget.pk}"]')
        assert [int(node.get_attribute(f"gs-{axis}") or 0) for axis in "xywh"] == [
            widget.position[axis] for axis in "xywh"
        ]


def test_a_user_of_another_project_cannot_open_this_dashboard(page: object, live_flux: str, shop: tuple) -> None:
    project, _ = shop
    stranger = User.objects.create_user("sam", password="another secret")
    add_member(create_project("Elsewhere"), stranger)
    log_in(page, live_flux, "sam", "another secret")
    page.wait_for_url(f"{live_flux}/p/elsewhere/dashboards/key-metrics/")
    response = page.goto(f"{live_flux}/p/{project.slug}/dashboards/key-metrics/")
    assert response.status == 404
    api = page.request.get(f"{live_flux}/api/v1/dashboards/key-metrics", headers={"X-Flux-Project": project.slug})
    assert api.status == 404


PREVIEWED = "(type) => document.querySelector('#preview').dataset.type === type && editor.dataset.previewed"
SHOWN = "(title) => [...document.querySelectorAll('.widget-handle')].some((handle) => handle.textContent === title)"
EDITED = [
    # (type, source, name, aggregation, group by, what shows it is drawn)
    ("number", "events", "user.signup", "count", "", "number"),
    ("graph", "events", "user.*", "count", "tags.plan", "canvas"),
    ("bar", "events", "", "count", "tags.plan", "canvas"),
    ("pie", "events", "user.signup", "unique", "tags.plan", "canvas"),
    ("table", "metric", "api.latency", "p95", "tags.route", "table"),
    ("heatmap", "events", "user.signup", "count", "", "canvas"),
]


def test_add_a_widget_of_each_type_through_the_editor(page: object, live_flux: str, shop: tuple) -> None:
    project, _ = shop
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    for widget_type, source, name, aggregation, group_by, drawn in EDITED:
        page.click("#add-widget")
        page.fill("#editor [name=title]", f"My {widget_type}")
        page.select_option("#editor [name=type]", widget_type)
        page.select_option("#editor [name=source]", source)
        page.fill("#editor [name=name]", name)
        page.select_option("#editor [name=aggregation]", aggregation)
        page.fill("#editor [name=group_by]", group_by)
        page.wait_for_function(PREVIEWED, arg=widget_type)
        page.click("#editor-save")
        widget = Widget.objects.filter(dashboard__project=project, title=f"My {widget_type}")
        page.wait_for_function(SHOWN, arg=f"My {widget_type}")
        stored = widget.get()
        assert (stored.type, stored.query["source"], stored.query["aggregation"]) == (widget_type, source, aggregation)
        selector = f'[data-widget-id="{stored.pk}"]'
        if drawn == "canvas":
            page.wait_for_function(f"({DRAWN})('{selector}')")
        elif drawn == "table":
            page.wait_for_selector(f"{selector} table tbody tr")
        else:
            page.wait_for_function(f"document.querySelector('{selector} .value')?.textContent === '6'")
    assert Widget.objects.filter(dashboard__project=project, title__startswith="My ").count() == 6

    bad = page.locator("[data-widget-id] .widget-handle", has_text="My number")
    bad.locator("xpath=..").locator("button[data-action=edit]").click()
    page.select_option("#editor [name=source]", "metric")
    page.fill("#editor [name=name]", "")
    page.wait_for_selector("#editor-error:not([hidden])")
    assert "query.name" in page.inner_text("#editor-error") or "required" in page.inner_text("#editor-error")


def test_an_event_sent_to_the_api_shows_on_the_open_dashboard_without_reload(
    page: object, live_flux: str, shop: tuple
) -> None:
    from flux.tenants.services import issue_key

    project, _ = shop
    ingest_key = issue_key(project, "ingest").raw_key
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.wait_for_function("document.body.dataset.live === 'true'")
    events_number = page.locator("[data-type=number] .value").first
    assert events_number.inner_text() == "6"
    page.wait_for_timeout(6500)  # idle longer than the channel layer's blocking read: the socket must stay up
    response = page.request.post(
        f"{live_flux}/api/v1/events", data={"name": "user.signup", "user_id": "new"},
        headers={"Authorization": f"Bearer {ingest_key}"},
    )  # fmt: skip
    assert response.status == 202
    page.wait_for_function("document.querySelector('[data-type=number] .value').textContent === '7'", timeout=10_000)
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload happened
    assert page.evaluate("document.body.dataset.connections") == "1"  # and no reconnect


def test_a_phone_stacks_widgets_in_one_column_and_dark_mode_is_dark(
    chromium: object, live_flux: str, shop: tuple
) -> None:
    from conftest import ARTIFACTS, watched_page

    project, _ = shop
    overview = Dashboard.objects.get(project=project, is_default=True)
    positions = {widget.pk: widget.position for widget in Widget.objects.filter(dashboard=overview)}
    context = chromium.new_context(viewport={"width": 390, "height": 844}, color_scheme="dark")
    phone = watched_page(context)
    try:
        log_in(phone, live_flux, "olivia", "correct horse")
        wait_loaded(phone)
        boxes = [phone.locator(f'[gs-id="{pk}"]').bounding_box() for pk in positions]
        assert all(box["width"] > 330 for box in boxes)  # each widget takes the whole width
        lefts = {round(box["x"]) for box in boxes}
        assert len(lefts) == 1  # one column, stacked
        reading_order = sorted(positions, key=lambda pk: (positions[pk]["y"], positions[pk]["x"]))
        stacked_order = [pk for _, pk in sorted(zip([box["y"] for box in boxes], positions, strict=True))]
        assert stacked_order == reading_order  # row by row, left to right, as on a wide screen
        background = phone.evaluate("getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 21, 28)"  # the dark palette
        phone.screenshot(path=str(ARTIFACTS / "dashboard-phone-dark.png"), full_page=True)
        assert phone.csp_violations == []
    finally:
        context.close()
    # Viewing on a phone does not rewrite the saved 12-column layout.
    assert {widget.pk: widget.position for widget in Widget.objects.filter(dashboard=overview)} == positions


def test_the_setup_page_sends_a_test_event_and_shows_it_arriving(page: object, live_flux: str, shop: tuple) -> None:
    project, _ = shop
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.goto(f"{live_flux}/p/{project.slug}/setup/")
    assert f"{live_flux}/api/v1/events" in page.inner_text("#endpoint")
    page.click("#send-test")
    page.wait_for_function("document.getElementById('test-status').textContent.startsWith('Arrived at')")
    assert '"name": "flux.test_event"' in page.inner_text("#test-event")
    from events.models import Event

    assert Event.objects.filter(project_id=project.pk, name="flux.test_event").count() == 1


def test_the_chosen_aggregation_survives_names_arriving_late(page: object, live_flux: str, shop: tuple) -> None:
    # A slow server answered the editor's names request after the user had picked an aggregation, and the
    # editor put the widget's initial aggregation back. Hold that request until the user has chosen.
    held: list = []
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    page.route(re.compile(r".*/api/v1/events/count\?.*group_by=name.*"), lambda route: held.append(route))
    for attempt in range(2):  # the second opening has the first one's options and names already
        page.click("#add-widget")
        page.select_option("#editor [name=source]", "metric")
        page.fill("#editor [name=name]", "api.latency")
        page.select_option("#editor [name=aggregation]", "p95")
        page.wait_for_function("document.getElementById('editor').open")
        for _ in range(1000):  # at most 20 s
            if len(held) > attempt:
                break
            page.wait_for_timeout(20)  # lets Playwright deliver the held request to the route handler
        assert len(held) > attempt, "the editor never asked for the names"
        held[attempt].continue_()
        page.wait_for_function("document.getElementById('editor').dataset.names === 'loaded'")
        assert page.input_value("#editor [name=aggregation]") == "p95"
        page.keyboard.press("Escape")


def test_graphs_read_time_in_the_dashboards_zone_not_the_browsers(
    chromium: object, live_flux: str, shop: tuple
) -> None:
    """A Tokyo dashboard opened in New York drew today's 00:10 as yesterday's 10:10 (ECharts writes local time)."""
    from conftest import watched_page

    project, _ = shop
    context = chromium.new_context(viewport={"width": 1280, "height": 900}, timezone_id="America/New_York")
    try:
        page = watched_page(context)
        log_in(page, live_flux, "olivia", "correct horse")
        page.goto(f"{live_flux}/p/{project.slug}/dashboards/key-metrics/?timezone=Asia/Tokyo")
        wait_loaded(page)
        label, tooltip = page.evaluate("""() => {
            const chart = echarts.getInstanceByDom(document.querySelector('[data-type=graph] .chart'));
            const option = chart.getOption();
            const noon = Date.UTC(2026, 11, 8, 3, 30);  // 12:30 in Tokyo, 22:30 the day before in New York
            return [option.xAxis[0].axisLabel.formatter(noon),
                    option.tooltip[0].formatter([{ value: [noon, 4], marker: '', seriesName: '<b>x</b>' }])];
        }""")
        assert label == "12:30"
        assert tooltip == "2026-12-08 12:30<br>&#60;b&#62;x&#60;/b&#62;: 4"  # a tag value is text, not markup
    finally:
        context.close()


def test_a_number_widget_fits_its_default_size_on_a_laptop(chromium: object, live_flux: str, shop: tuple) -> None:
    """At 1024-1280 px its change line wrapped and pushed the sparkline out: the body scrolled (axe: serious)."""
    from conftest import watched_page

    project, _ = shop
    overview = Dashboard.objects.get(project=project, is_default=True)
    latency = make_series(project, "api.latency", "distribution", route="/")
    insert_point(latency, datetime.now(UTC) - timedelta(days=1, hours=2), 1234.5)
    add_widget(overview, {"title": "p95 latency", "type": "number", "display": {"unit": "ms", "decimals": 1},
                          "query": {"source": "metric", "name": "api.latency", "aggregation": "p95"},
                          "position": {"x": 0, "y": 10, "w": 3, "h": 2}})  # fmt: skip
    context = chromium.new_context(viewport={"width": 1024, "height": 800})
    try:
        page = watched_page(context)
        log_in(page, live_flux, "olivia", "correct horse")
        wait_loaded(page)
        change = page.locator("[data-type=number] .change").last.inner_text()
        assert change.endswith("% vs previous")  # the long form, which wrapped
        overflowing = page.evaluate("""() => [...document.querySelectorAll('[data-type=number] .widget-body')]
            .filter((body) => body.scrollHeight > body.clientHeight + 1).length""")
        assert overflowing == 0
    finally:
        context.close()


def test_a_move_saves_only_the_widgets_it_moved(page: object, live_flux: str, shop: tuple) -> None:
    """Two editors: a page not reloaded saved every position as it last knew them, undoing the other's move."""
    project, _ = shop
    overview = Dashboard.objects.get(project=project, is_default=True)
    widgets = list(Widget.objects.filter(dashboard=overview).order_by("pk"))
    log_in(page, live_flux, "olivia", "correct horse")
    wait_loaded(page)
    far = widgets[-1]  # moved meanwhile by another editor, to a place this page never shows
    Widget.objects.filter(pk=far.pk).update(position={**far.position, "y": far.position["y"] + 40})
    elsewhere = Widget.objects.get(pk=far.pk).position

    first = widgets[0]
    title = page.locator(f'[gs-id="{first.pk}"] .widget-handle').bounding_box()
    page.mouse.move(title["x"] + 20, title["y"] + title["height"] / 2)
    page.mouse.down()
    page.mouse.move(title["x"] + 20 + 640, title["y"] + title["height"] / 2, steps=12)
    page.mouse.up()
    eventually(lambda: Widget.objects.get(pk=first.pk).position["x"] >= 4, "the move saved")
    assert Widget.objects.get(pk=far.pk).position == elsewhere
