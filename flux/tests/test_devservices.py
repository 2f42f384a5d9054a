"""The local-services layer of `make run` / `make test`, with real servers and processes."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg
import pytest
import redis

from flux import devservices

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def system_dir(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where, as root, the embedded PostgreSQL's binaries and data go (under /tmp: reachable by anyone)."""
    folder = Path(tempfile.mkdtemp(prefix="flux-pg-system-"))
    folder.chmod(0o755)  # as /var/lib is
    monkeypatch.setattr(devservices, "PG_SYSTEM_DIR", folder / "embedded-postgres")
    yield folder / "embedded-postgres"
    shutil.rmtree(folder, ignore_errors=True)


def test_the_embedded_postgres_setup_changes_no_folder_above_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_dir: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    home.chmod(0o700)  # like /root: nobody else may enter
    data_dir = home / "checkout" / "var"
    (data_dir / "postgres").mkdir(parents=True)
    (data_dir / "postgres" / "PG_VERSION").write_text("18\n")  # what an earlier version left there
    monkeypatch.setattr(devservices, "DATA_DIR", data_dir)
    install = devservices.package_dir("embedded_postgres")
    watched = [home, *home.parents, *install.parents, install / "pginstall"]
    before = {folder: folder.stat().st_mode for folder in watched}
    bin_dir, pgdata, run_as = devservices.postgres_layout()
    assert {folder: folder.stat().st_mode for folder in watched} == before
    if run_as is None:  # not root: the server runs as this user, from the checkout
        assert pgdata == data_dir / "postgres"
        return
    assert pgdata.parent == system_dir and pgdata.stat().st_mode & 0o777 == 0o700
    assert pgdata.owner() == run_as
    assert (pgdata / "PG_VERSION").read_text() == "18\n" and not (data_dir / "postgres").exists()  # moved
    version = subprocess.run(  # noqa: S603 - our own binary
        [bin_dir / "postgres", "--version"], user=run_as, capture_output=True, text=True
    )
    assert version.returncode == 0 and "PostgreSQL" in version.stdout


def test_embedded_postgres_and_redis_start_keep_data_and_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_dir: Path
) -> None:
    pg_port, redis_port = free_port(), free_port()
    monkeypatch.setattr(devservices, "DATA_DIR", tmp_path)
    monkeypatch.setattr(devservices, "EMBEDDED_PG_PORT", pg_port)
    monkeypatch.setattr(devservices, "EMBEDDED_REDIS_PORT", redis_port)
    url = f"postgres://postgres@127.0.0.1:{pg_port}/flux"

    for run in range(2):  # the second start reuses the data of the first
        services = devservices.Services()
        try:
            services.start_embedded_postgres()
            services.start_embedded_redis()
            devservices.create_database_if_missing(url)
            with psycopg.connect(url, autocommit=True) as conn:
                if run == 0:
                    conn.execute("CREATE TABLE kept (value int)")
                    conn.execute("INSERT INTO kept VALUES (42)")
                else:
                    assert conn.execute("SELECT value FROM kept").fetchone() == (42,)
            assert redis.Redis(port=redis_port).ping()
        finally:
            services.stop()
        assert not devservices.port_answers(pg_port)
        assert not devservices.port_answers(redis_port)


def wait_for_http(url: str, seconds: float, process: subprocess.Popen, log_path: Path) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, log_path.read_text()[-3000:]
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own local server
                return json.loads(response.read())
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer within {seconds}s:\n{log_path.read_text()[-3000:]}")


def test_run_command_serves_flux_with_a_demo_project_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    database = f"flux_e2e_run_{os.getpid()}"
    base_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux").rsplit("/", 1)[0]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": f"{base_url}/{database}", "FLUX_PORT": str(port),
           "FLUX_DATA_DIR": str(tmp_path), "WORKER_CONCURRENCY": "1", "FLUX_STATSD_PORT": str(free_port())}  # fmt: skip
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "flux.devservices", "run"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        ready = wait_for_http(f"http://127.0.0.1:{port}/health/ready", 90, process, log_path)
        assert ready["status"] == "ok"
        output = log_path.read_text()
        admin_key = re.search(r"admin key: (flx_admin_\w+)", output).group(1)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/project", headers={"Authorization": f"Bearer {admin_key}"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
            assert json.loads(response.read())["slug"] == "demo"
        workers = ("default", "rollups", "scans", "alerts")  # one per queue (Procfile)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not all(
            re.search(rf"{worker}@\S+ ready", log_path.read_text()) for worker in workers
        ):
            time.sleep(0.5)
        output = log_path.read_text()
        assert all(re.search(rf"{worker}@\S+ ready", output) for worker in workers), output[-3000:]
        assert "beat: Starting" in output
        assert f"StatsD listening on udp://127.0.0.1:{env['FLUX_STATSD_PORT']} for project 'demo'" in output
    finally:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        exit_code = process.wait(timeout=60)
        with psycopg.connect(f"{base_url}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    assert not devservices.port_answers(port)
    assert exit_code == 0, log_path.read_text()[-3000:]


def test_make_run_signs_with_a_secret_key_of_its_own_not_the_public_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without SECRET_KEY, make run signed with the development key in this repository: SDK-provisioned keys
    could be recomputed offline by anyone."""
    from flux import devservices

    monkeypatch.setattr(devservices, "DATA_DIR", tmp_path / "var")
    first, again = devservices.own_secret_key(), devservices.own_secret_key()
    assert first == again and len(first) >= 50 and first != "flux-insecure-development-key"
    assert (tmp_path / "var" / "secret-key").stat().st_mode & 0o777 == 0o600
