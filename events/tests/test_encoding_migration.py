"""Migration 0011 turns the wide raw events table into the dictionary-encoded one and back, losing nothing:
run forwards, backwards and forwards on stored rows, in a scratch database migrated in subprocesses (on
TimescaleDB too, with a compressed chunk, in the TimescaleDB run of `make test`)."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.conf import settings
from django.db import connection

pytestmark = pytest.mark.storage

SCRATCH = "flux_encoding_migration"
NOW = datetime.now(UTC).replace(microsecond=0)
COLUMNS = (
    "id, project_id, time, received_at, name, user_id, session_id, value, tags, properties, environment, service,"
    " host, request_id, client_id"
)
# Three projects sharing names and tag sets (each keeps its own entries), the same set sent in two key
# orders (one entry), unicode, empty tags, every nullable column null, and days from last month to next year.
ROWS = [
    (1, 7, NOW - timedelta(days=2), "order.completed", "u1", "s1", 12.5, {"plan": "pro", "region": "eu"}, {"a": 1},
     "production", "web", "host-1", "r1", "c1"),
    (2, 7, NOW - timedelta(days=1), "order.completed", "u2", None, None, {"region": "eu", "plan": "pro"}, {},
     None, None, None, None, None),
    (3, 8, NOW - timedelta(days=1), "order.completed", None, None, 3.0, {"plan": "pro", "region": "eu"}, {},
     None, None, None, None, None),
    (4, 8, NOW - timedelta(hours=5), "café ☕ ordered", "u3", None, None, {}, {"path": "/p/1"},
     None, None, None, None, None),
    (5, 9, NOW - timedelta(days=30), "signup", "u4", None, -1.5, {"channel": "ios"}, {},
     None, None, None, None, "c2"),
    (6, 9, NOW + timedelta(days=300), "signup", None, None, None, {}, {}, None, None, None, None, None),
]  # fmt: skip


def server_url(database: str) -> str:
    params = connection.get_connection_params()
    password = f":{params['password']}" if params.get("password") else ""
    user, port = params.get("user", "postgres"), params.get("port", 5432)
    return f"postgres://{user}{password}@{params['host']}:{port}/{database}"


def migrate(*target: str) -> None:
    env = {**os.environ, "DATABASE_URL": server_url(SCRATCH), "FLUX_STORAGE": settings.FLUX_STORAGE}
    result = subprocess.run(  # noqa: S603 (this interpreter, Flux's own manage.py)
        [sys.executable, "manage.py", "migrate", "--noinput", *target],
        cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture
def scratch() -> Iterator[psycopg.Connection]:
    with psycopg.connect(server_url("postgres"), autocommit=True) as server:
        server.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        server.execute(f"CREATE DATABASE {SCRATCH}")
    try:
        migrate("events", "0010")
        with psycopg.connect(server_url(SCRATCH), autocommit=True) as database:
            yield database
    finally:
        with psycopg.connect(server_url("postgres"), autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


def stored_rows(database: psycopg.Connection) -> list[tuple]:
    return database.execute(f"SELECT {COLUMNS} FROM events_event ORDER BY id").fetchall()


def layout_of(database: psycopg.Connection, table: str) -> str:
    kind = database.execute("SELECT relkind FROM pg_class WHERE relname = %s", [table]).fetchone()[0]
    return {"p": "postgres", "r": "timescaledb", "v": "view"}[kind]


def compress_every_chunk(database: psycopg.Connection) -> int:
    chunks = database.execute("SELECT compress_chunk(c) FROM show_chunks('events_event') c").fetchall()
    return len(chunks)


def test_encoding_and_decoding_keep_every_row_and_the_layout(scratch: psycopg.Connection) -> None:
    layout = layout_of(scratch, "events_event")
    with scratch.cursor().copy(f"COPY events_event ({COLUMNS}) FROM STDIN") as copy:
        for row in ROWS:
            copy.write_row([*row[:3], NOW, *row[3:7], json.dumps(row[7]), json.dumps(row[8]), *row[9:]])
    if layout == "timescaledb":
        assert compress_every_chunk(scratch) >= 3  # rows read back out of compressed chunks too
    before = stored_rows(scratch)

    migrate("events", "0011")
    encoded = stored_rows(scratch)
    tag_sets = scratch.execute(
        "SELECT project_id, tags FROM events_eventtagset ORDER BY project_id, tags::text"
    ).fetchall()
    names = scratch.execute("SELECT count(*) FROM events_eventname").fetchone()[0]
    raw_layout = layout_of(scratch, "events_rawevent")

    migrate("events", "0010")
    decoded, decoded_layout = stored_rows(scratch), layout_of(scratch, "events_event")
    migrate("events", "0011")

    assert len(before) == len(ROWS) and encoded == before and decoded == before and stored_rows(scratch) == before
    assert (raw_layout, decoded_layout) == (layout, layout)
    assert tag_sets == [
        (7, {"plan": "pro", "region": "eu"}), (8, {"plan": "pro", "region": "eu"}), (8, {}),
        (9, {"channel": "ios"}), (9, {}),
    ]  # fmt: skip
    assert names == 4  # order.completed twice (projects 7 and 8), the café, signup
