"""Helpers of the browser tests (the fixtures live in the root conftest)."""

import re
import time
from collections.abc import Callable

DRAWN = """(selector) => [...document.querySelectorAll(selector + ' canvas')].some((canvas) => {
    const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) return true;
    return false;
})"""


def log_in(page: object, base_url: str, username: str, password: str, to_dashboard: bool = True) -> None:
    """Sign in (landing on the first project's overview), then open its default dashboard."""
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/p/[^/]+/$"))
    if to_dashboard:
        page.goto(f"{page.url}dashboards/key-metrics/")


def wait_loaded(page: object) -> None:
    page.wait_for_function("document.body.dataset.loadedAt && !document.body.dataset.loading")


def eventually(check: Callable[[], bool], what: str, seconds: float = 20) -> None:
    """Wait for what a page does out of sight (a debounced save) to show in the database, or fail saying what."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not seen within {seconds:.0f} s")
        time.sleep(0.05)
