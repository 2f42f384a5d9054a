"""Static files as deployed: after collectstatic, pages link fingerprinted names that are served compressed
and cacheable for a year; without it (make run, DEBUG) the plain names are served from the source folders."""

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import uvicorn_flux

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
YEAR_AND_MORE = 365 * 86400


def fetch(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - our own server
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, {key.lower(): value for key, value in response.headers.items()}, response.read()


@pytest.fixture
def deployed(transactional_db: None, tmp_path: Path) -> Iterator[tuple[str, dict]]:
    """Flux with DEBUG off after `manage.py collectstatic`, as the Docker image runs it."""
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "static-files-test", "STATIC_ROOT": str(tmp_path / "static"),
           "FLUX_DATA_DIR": str(tmp_path)}  # fmt: skip
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput"], env=env, cwd=ROOT, check=True,
                   capture_output=True)  # fmt: skip
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())["paths"]
    with uvicorn_flux(env, tmp_path) as base_url:
        yield base_url, manifest


def test_collected_files_are_linked_by_hash_and_served_compressed_for_a_year(deployed: tuple[str, dict]) -> None:
    base_url, manifest = deployed
    _, _, login_page = fetch(f"{base_url}/login/")
    assert f'href="/static/{manifest["css/flux.css"]}"' in login_page.decode()
    assert re.fullmatch(r"vendor/echarts/echarts\.min\.[0-9a-f]{12}\.js", manifest["vendor/echarts/echarts.min.js"])
    status, headers, body = fetch(f"{base_url}/static/{manifest['vendor/echarts/echarts.min.js']}",
                                  **{"Accept-Encoding": "gzip"})  # fmt: skip
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert len(body) < 500_000  # 1.1 MB as it is
    cache = dict(re.findall(r"([a-z-]+)(?:=(\d+))?", headers["cache-control"]))
    assert int(cache["max-age"]) >= YEAR_AND_MORE and "immutable" in cache


def test_without_collectstatic_the_plain_names_are_served(live_flux: str) -> None:
    _, _, login_page = fetch(f"{live_flux}/login/")
    assert 'href="/static/css/flux.css"' in login_page.decode()
    assert fetch(f"{live_flux}/static/vendor/echarts/echarts.min.js")[0] == 200
