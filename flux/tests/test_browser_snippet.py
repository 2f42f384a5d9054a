"""The browser snippet (static/js/flux-track.js) on a page of another origin, in Chromium: what it tracks is stored."""

import functools
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from events.models import Event
from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html>
<html><head><title>A shop</title>
<script src="/early.js"></script>
<script src="{flux}/static/js/flux-track.js" data-flux-key="{key}" data-flux-url="{flux}"></script>
<script src="/shop.js"></script>
</head><body><h1>A shop somewhere else</h1></body></html>
"""
SHOP_JS = """
flux.configure({ flushMs: 600000 }); // only leaving the page sends, whatever the machine's speed
flux.identify("u-7");
flux.track("Viewed Product", { sku: "A-1" });
flux.track("Added To Cart", { sku: "A-1" }, { tags: { channel: "web" }, value: 19.9 });
"""


@pytest.fixture
def shop(transactional_db: None) -> tuple[Project, str]:
    project = create_project("Snippet shop")
    return project, issue_key(project, "ingest").raw_key


@pytest.fixture
def other_origin(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A static web server on another port (another origin than Flux); yields its folder and base URL."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def write_shop(folder: Path, flux: str, key: str, early_js: str = "", shop_js: str = SHOP_JS) -> None:
    """The other site's page, loading the snippet from Flux between its own two scripts."""
    (folder / "index.html").write_text(PAGE.format(flux=flux, key=key))
    (folder / "early.js").write_text(early_js)
    (folder / "shop.js").write_text(shop_js)


def wait_for_events(project: Project, count: int) -> list[Event]:
    deadline = time.monotonic() + 20
    while Event.objects.filter(project_id=project.pk).count() < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return list(Event.objects.filter(project_id=project.pk).order_by("time", "id"))


def test_events_tracked_on_another_site_are_sent_when_the_page_is_left(
    page: object, live_flux: str, shop: tuple[Project, str], other_origin: tuple[Path, str]
) -> None:
    project, key = shop
    folder, site = other_origin
    write_shop(folder, live_flux, key)
    page.goto(f"{site}/index.html")
    page.wait_for_function("window.flux && typeof window.flux.track === 'function'")
    assert Event.objects.filter(project_id=project.pk).count() == 0  # queued, not sent yet

    page.goto("about:blank")  # pagehide and visibilitychange: the queue leaves with sendBeacon

    viewed, added = wait_for_events(project, 2)
    assert (viewed.name, viewed.user_id, viewed.properties) == (
        "Viewed Product",
        "u-7",
        {"sku": "A-1", "path": "/index.html"},
    )
    assert (added.name, added.tags, added.value) == ("Added To Cart", {"channel": "web"}, 19.9)
    assert viewed.session_id and viewed.session_id == added.session_id
    assert viewed.client_id != added.client_id


def test_a_full_batch_is_sent_while_the_page_stays_open(
    page: object, live_flux: str, shop: tuple[Project, str], other_origin: tuple[Path, str]
) -> None:
    project, key = shop
    folder, site = other_origin
    # A call made before the snippet loaded is queued, then tracked with the others.
    early_call = "window.flux = window.flux || []; flux.push(['track', 'Scrolled', { depth: -1 }]);"
    write_shop(folder, live_flux, key, early_call, "for (let i = 0; i < 19; i++) flux.track('Scrolled', { depth: i });")
    page.goto(f"{site}/index.html")
    events = wait_for_events(project, 20)
    assert sorted(event.properties["depth"] for event in events) == list(range(-1, 19))


def test_a_batch_that_failed_to_leave_is_sent_again(
    page: object, live_flux: str, shop: tuple[Project, str], other_origin: tuple[Path, str]
) -> None:
    """A failed request was never retried: one network error lost its whole batch."""
    project, key = shop
    folder, site = other_origin
    write_shop(folder, live_flux, key)
    attempts: list[str] = []

    def first_fails(route: object) -> None:
        attempts.append(route.request.post_data)
        if len(attempts) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/events/batch*", first_fails)
    page.goto(f"{site}/index.html")
    page.wait_for_function("window.flux && typeof window.flux.track === 'function'")
    page.evaluate("flux.flush()")
    for _ in range(300):  # the route's handler runs only while Playwright is called: wait through it
        if Event.objects.filter(project_id=project.pk).count() == 2:
            break
        page.wait_for_timeout(100)
    assert [event.name for event in wait_for_events(project, 2)] == ["Viewed Product", "Added To Cart"]
    assert len(attempts) == 2 and attempts[0] == attempts[1]  # the same events, with their ids
