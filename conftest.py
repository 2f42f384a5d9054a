"""Shared test fixtures: personas (alice owns, bob is a member, charlie is an outsider) and API clients."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path

import pytest
import redis
from django.contrib.auth.models import User
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from flux.tenants.models import Project, Role
from flux.tenants.services import add_member, create_project, issue_key

# Property tests draw the same examples on every run and have no per-example deadline: a stall on a loaded
# machine is not a failure, and a failure is reproduced by running the test again.
hypothesis_settings.register_profile("flux", deadline=None, derandomize=True, database=None)
hypothesis_settings.load_profile("flux")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test of one storage layout runs only against a database of that layout: `timescaledb` tests in
    the TimescaleDB run of `make test` (FLUX_STORAGE=timescaledb), `citus` tests in its Citus run,
    `native_partitions` tests elsewhere (Citus distributes native partitions)."""
    storage = os.environ.get("FLUX_STORAGE")
    other_layouts = {"native_partitions" if storage == "timescaledb" else "timescaledb"}
    if storage != "citus":
        other_layouts.add("citus")
    deselected = [item for item in items if any(item.get_closest_marker(layout) for layout in other_layouts)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item not in deselected]


@pytest.fixture(autouse=True, scope="session")
def _own_redis_keys() -> Iterator[None]:
    """Project ids restart with every new test database while Redis keeps its keys (and other test runs
    may share the Redis database): this run's rate limits and ingestion-health counters get their own
    prefix, here and in the servers the tests start."""
    from django.conf import settings

    from flux.ingestion import outcomes
    from flux.web.redis_store import redis_client

    prefix = f"flux-test-{uuid.uuid4().hex[:12]}"
    settings.FLUX_REDIS_KEY_PREFIX = os.environ["FLUX_REDIS_KEY_PREFIX"] = prefix
    yield
    outcomes.pending.flush_now()  # what is still on its way, so that it is removed too
    with suppress(redis.RedisError):
        for key in redis_client().scan_iter(f"{prefix}:*", count=1000):
            redis_client().delete(key)


@pytest.fixture(autouse=True)
def _fast_password_hashing(request: pytest.FixtureRequest, settings: object) -> None:
    """Except in tests marked live_login, where a browser logs in to a live server that checks passwords
    with its own (real) hashers."""
    if request.node.get_closest_marker("live_login") is None:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(db: None) -> User:
    return User.objects.create_user("alice", "alice@example.com", "password")


@pytest.fixture
def bob(db: None) -> User:
    return User.objects.create_user("bob", "bob@example.com", "password")


@pytest.fixture
def charlie(db: None) -> User:
    return User.objects.create_user("charlie", "charlie@example.com", "password")


@pytest.fixture
def project(alice: User, bob: User) -> Project:
    project = create_project("Alice's shop", owner=alice)
    add_member(project, bob, Role.MEMBER)
    return project


@pytest.fixture
def other_project(charlie: User) -> Project:
    return create_project("Charlie's blog", owner=charlie)


@pytest.fixture
def keys(project: Project) -> dict[str, str]:
    """One raw key of each kind for `project`."""
    return {kind: issue_key(project, kind).raw_key for kind in ("ingest", "read", "admin")}


def client_with_key(raw_key: str | None) -> APIClient:
    client = APIClient()
    if raw_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


@pytest.fixture
def api() -> type:
    """`api(key)` gives an APIClient that sends `key` as a Bearer token."""
    return client_with_key


@pytest.fixture
def post_json(client: object) -> object:
    """`post_json(path, body, key=..., **headers)`: a JSON POST the way an SDK sends it."""
    import json

    def post(path: str, body: object, key: str | None = None, **headers: str) -> object:
        if key is not None:
            headers.setdefault("HTTP_AUTHORIZATION", f"Bearer {key}")
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        content_type = headers.pop("content_type", "application/json")
        return client.post(path, data=data, content_type=content_type, **headers)

    return post


# --- Browser tests: the real ASGI app under uvicorn, driven by Debian's Chromium through Playwright. ---

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "var" / "test-artifacts"


def ensure_chromium() -> str:
    """Debian's chromium, installed through apt when missing (never `playwright install`)."""
    if not Path(CHROMIUM).exists():
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})  # fmt: skip
    return CHROMIUM


@contextmanager
def uvicorn_flux(env: dict[str, str], log_dir: Path) -> Iterator[str]:
    """Flux's ASGI app under uvicorn in a subprocess with `env`; yields its base URL once /health answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log_path = log_dir / "uvicorn.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "flux.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--no-access-log", "--timeout-graceful-shutdown", "2"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, log_path.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base_url}/health", timeout=2):  # noqa: S310 - our own server
                    break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()[-3000:]
                time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a connection kept it from stopping: never leave it behind
            server.kill()
            server.wait(timeout=10)


@pytest.fixture
def socket_rechecks_every_message(monkeypatch: pytest.MonkeyPatch) -> None:
    """For the live server started after it: an open socket checks its access before every message."""
    monkeypatch.setenv("FLUX_SOCKET_RECHECK_MS", "0")


@pytest.fixture
def live_flux(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """Flux served by uvicorn (websockets included) on the test database; yields its base URL.

    Django's live_server has no websockets, so this runs the production server in a subprocess; the
    test's data must be committed, hence transactional_db.
    """
    from django.db import connection

    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}"
        f"/{settings_dict['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1", "FLUX_DATA_DIR": str(tmp_path)}
    with uvicorn_flux(env, tmp_path) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    """One browser per test module: Playwright's sync API runs an event loop in this thread while it lives,
    which other tests' asyncio.run() must not meet."""
    from playwright.sync_api import sync_playwright

    executable = ensure_chromium()
    # The loop is Playwright's; the test's ORM calls are still plain sync code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
            )  # fmt: skip
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


# Every browser test fails on anything the pages' Content-Security-Policy blocks: the browser reports it as a
# securitypolicyviolation event (relayed to the console here) and as a console error of its own.
REPORT_CSP_VIOLATIONS = """document.addEventListener('securitypolicyviolation', (event) => console.error(
    `CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`
    + ` at ${event.sourceFile}:${event.lineNumber}`));"""


def is_csp_violation(text: str) -> bool:
    return text.startswith("CSP violation") or "Content Security Policy" in text


def wait_for_function(page: object, expression: str, arg: object = None, timeout: float = 30_000) -> object:
    """Page.wait_for_function by polling page.evaluate: Playwright's own evaluates the expression with eval
    inside the page, which the pages' Content-Security-Policy (rightly) forbids."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        result = page.evaluate(expression, arg)
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waiting for {expression!r} timed out after {timeout:.0f} ms")
        page.wait_for_timeout(50)


@pytest.fixture
def page(chromium: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context at 1280 x 900; a screenshot of the last page is kept per test."""
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    browser_page = watched_page(context)
    yield browser_page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser_page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
    assert browser_page.csp_violations == [], "the Content-Security-Policy blocked something on a page"


def watched_page(context: object) -> object:
    """A new page of `context` that records CSP violations in `page.csp_violations` (every browser test
    asserts there are none) and whose wait_for_function works under the policy."""
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    browser_page = context.new_page()
    violations: list[str] = []
    browser_page.on(
        "console", lambda message: violations.append(message.text) if is_csp_violation(message.text) else None
    )
    browser_page.csp_violations = violations
    browser_page.wait_for_function = partial(wait_for_function, browser_page)
    return browser_page
