"""TimescaleDB's own behaviour: compressed chunks under retention, purge and late data; a server that has
the extension but does not preload it. Runs in the TimescaleDB run of `make test` (see devtimescale)."""

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from events.tests.factories import insert_event, partition_of_event
from flux import devservices
from flux.storage import maintenance
from flux.tenants.models import Project
from flux.tenants.services import create_project
from metrics.tests.factories import count_points, insert_point, make_series

pytestmark = [pytest.mark.storage, pytest.mark.timescaledb]

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
COMPRESSED, PARTIAL = 1, 8  # chunk status bits


def chunk_statuses(table: str) -> dict[datetime, int]:
    """Each chunk's status bits (COMPRESSED, PARTIAL, ...) by the start of its range."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT range_start, _timescaledb_functions.chunk_status(format('%%I.%%I', chunk_schema, chunk_name))
            FROM timescaledb_information.chunks WHERE hypertable_name = %s
            """,
            [table],
        )
        return dict(cursor.fetchall())


def compress_everything_before(now: datetime, settings: object) -> dict[str, int]:
    settings.FLUX_COMPRESS_AFTER_DAYS = 1
    return maintenance.compress_chunks(now)


def test_old_chunks_are_compressed(project: Project, settings: object) -> None:
    insert_event(project, NOW - timedelta(days=5))
    insert_point(make_series(project), NOW - timedelta(days=5))
    insert_event(project, NOW)

    assert compress_everything_before(NOW, settings) == {"events_rawevent": 1, "metrics_point": 1}
    assert sorted(chunk_statuses("events_rawevent").values()) == [0, COMPRESSED]


def test_retention_trims_a_project_inside_compressed_chunks(project: Project, settings: object) -> None:
    brief = create_project("Brief", retention_days=7)
    kept, trimmed = insert_event(project, NOW - timedelta(days=10)), insert_event(brief, NOW - timedelta(days=10))
    brief_series = make_series(brief)
    insert_point(brief_series, NOW - timedelta(days=10))
    compress_everything_before(NOW, settings)

    report = maintenance.apply_retention(NOW)

    assert report.failures == {}
    assert (report.trimmed_rows, count_points(brief_series)) == ({"events_rawevent": 1, "metrics_point": 1}, 0)
    assert partition_of_event(kept) != "" and partition_of_event(trimmed) == ""


def test_purging_a_project_reaches_into_compressed_chunks(project: Project, settings: object) -> None:
    for days_ago in (3, 4):
        insert_event(project, NOW - timedelta(days=days_ago))
    insert_point(make_series(project), NOW - timedelta(days=3))
    compress_everything_before(NOW, settings)

    deleted = maintenance.purge_project(project.pk)

    assert (deleted["events_rawevent"], deleted["metrics_point"]) == (2, 1)


def test_a_chunk_that_received_late_data_is_compressed_again(project: Project, settings: object) -> None:
    day = datetime(2026, 11, 18, tzinfo=UTC)
    insert_event(project, day + timedelta(hours=3))
    compress_everything_before(NOW, settings)
    late = insert_event(project, day + timedelta(hours=5))  # lands beside the compressed data
    assert chunk_statuses("events_rawevent")[day] & PARTIAL

    assert compress_everything_before(NOW, settings)["events_rawevent"] == 1

    assert chunk_statuses("events_rawevent")[day] == COMPRESSED
    assert partition_of_event(late) != ""
    assert compress_everything_before(NOW, settings)["events_rawevent"] == 0  # nothing left to do


def unpreloaded_server_url() -> str:
    url = os.environ.get("FLUX_TEST_UNPRELOADED_DATABASE_URL")
    assert url, "the TimescaleDB run (python -m flux.devtimescale exec) provides a server without the preload"
    return url


def migrate_fresh_database(storage: str) -> subprocess.CompletedProcess:
    """`manage.py migrate` into a new database on the server that has TimescaleDB but does not preload it."""
    server_url = unpreloaded_server_url()
    name = f"flux_unpreloaded_{storage}"
    with psycopg.connect(server_url, autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {name}")
        server.execute(f"CREATE DATABASE {name}")
        available = server.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
        assert available, "the server must have the extension's files"
    env = {**os.environ, "DATABASE_URL": server_url.rsplit("/", 1)[0] + f"/{name}", "FLUX_STORAGE": storage}
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_auto_storage_falls_back_to_partitions_when_timescaledb_is_not_preloaded() -> None:
    result = migrate_fresh_database("auto")

    assert result.returncode == 0, result.stderr[-2000:]
    assert "not in shared_preload_libraries" in result.stderr
    assert "using native PostgreSQL partitions" in result.stderr
    with psycopg.connect(unpreloaded_server_url().rsplit("/", 1)[0] + "/flux_unpreloaded_auto") as migrated:
        kind = migrated.execute("SELECT relkind FROM pg_class WHERE relname = 'events_rawevent'").fetchone()
    assert kind == ("p",)


def test_requiring_timescaledb_without_the_preload_stops_migrate_with_the_reason() -> None:
    result = migrate_fresh_database("timescaledb")

    assert result.returncode != 0
    assert "FLUX_STORAGE=timescaledb but the extension cannot be used" in result.stderr
    assert "not in shared_preload_libraries" in result.stderr


@pytest.mark.e2e
def test_the_embedded_server_of_make_run_can_carry_timescaledb(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(devservices, "DATA_DIR", tmp_path)
    monkeypatch.setattr(devservices, "EMBEDDED_PG_PORT", port)
    monkeypatch.setenv("FLUX_EMBEDDED_TIMESCALEDB", "1")
    services = devservices.Services()
    try:
        services.start_embedded_postgres()
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE EXTENSION timescaledb")
            version = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    finally:
        services.stop()
    assert version is not None
    assert not devservices.port_answers(port)
