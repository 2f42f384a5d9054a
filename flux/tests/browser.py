"""Helpers of the browser tests (the fixtures live in the root conftest)."""

import re

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
