"""`manage.py statsd` as a process: it flushes on its interval, and on SIGTERM flushes what was sent before."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import statsd
from django.db import connection

from flux.tenants.models import Project
from flux.tenants.services import create_project, issue_key

ROOT = Path(__file__).resolve().parents[3]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stored_counter_total(project: Project, name: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT coalesce(sum(p.value), 0) FROM metrics_point p
            JOIN metrics_metricseries s ON s.project_id = p.project_id AND s.id = p.series_id
            JOIN metrics_metric m ON m.id = s.metric_id
            WHERE p.project_id = %s AND m.name = %s
            """,
            [project.pk, name],
        )
        return cursor.fetchone()[0]


@pytest.mark.e2e
def test_the_command_stores_what_a_client_sends_and_flushes_on_stop(transactional_db: None, tmp_path: Path) -> None:
    project = create_project("StatsD shop")
    port = free_udp_port()
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1", "FLUX_DATA_DIR": str(tmp_path),
           "FLUX_STATSD_KEY": issue_key(project, "ingest").raw_key}  # fmt: skip
    log_path = tmp_path / "statsd.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "manage.py", "statsd", "--port", str(port), "--flush-seconds", "0.2"],
            env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while "StatsD listening" not in log_path.read_text():
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        client = statsd.StatsClient("127.0.0.1", port)
        client.incr("deploys", 2)
        while stored_counter_total(project, "deploys") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)  # flushed on the listener's interval
        assert stored_counter_total(project, "deploys") == 2
        client.incr("deploys", 5)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0, log_path.read_text()
    assert stored_counter_total(project, "deploys") == 7
