import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
from django.conf import settings

ROOT = Path(__file__).resolve().parents[3]


def server_url(database: dict, name: str) -> str:
    credentials = database["USER"] + (f":{database['PASSWORD']}" if database["PASSWORD"] else "")
    return f"postgres://{credentials}@{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{name}"


def run_migrate(database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "1"}
    return subprocess.run(
        [sys.executable, "manage.py", "migrate", "--plan"], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip


def test_migrate_creates_a_missing_database() -> None:
    database = settings.DATABASES["default"]
    name = f"flux_missing_{uuid.uuid4().hex[:10]}"
    try:
        result = run_migrate(server_url(database, name))
        assert result.returncode == 0, result.stderr
        assert f"Created database '{name}'." in result.stdout
        with psycopg.connect(server_url(database, name)) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    finally:
        with psycopg.connect(server_url(database, "postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


def test_migrate_says_how_to_create_the_database_when_it_cannot() -> None:
    result = run_migrate("postgres://postgres@127.0.0.1:1/flux_nowhere")  # nothing listens on port 1
    assert result.returncode != 0
    assert "Could not check or create database 'flux_nowhere' on 127.0.0.1:1" in result.stderr
    assert "createdb -h 127.0.0.1 -U postgres flux_nowhere" in result.stderr
