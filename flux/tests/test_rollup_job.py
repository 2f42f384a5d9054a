"""The rollup frame: one run per stream (others skip), a target taken after the lock, rows of transactions
still open left for the next run, and the task queues each served by a worker."""

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import psycopg
import pytest
import yaml
from celery.signals import task_revoked
from django.conf import settings
from django.db import connection

from events.dictionaries import encode
from events.models import EventRollup, RollupWatermark
from events.rollups import STREAM, roll_up_events
from events.tasks import roll_up
from flux.query.rollup_job import SAFETY_LAG
from flux.tenants.models import Project
from flux.web import task_stats
from flux.web.redis_store import redis_client

ROOT = Path(__file__).resolve().parents[2]
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


@pytest.fixture
def other_session() -> Iterator[psycopg.Connection]:
    """A second database session, as another worker or an ingest request would have."""
    with psycopg.connect(**_params(autocommit=False)) as session:
        yield session


def day_count(project: Project) -> int:
    row = EventRollup.objects.filter(project=project, level="day", name="order").first()
    return row.count if row else 0


def insert_order(session: psycopg.Connection, project: Project) -> None:
    session.execute(
        "INSERT INTO events_event (project_id, time, name) VALUES (%s, now() - interval '1 minute', 'order')",
        [project.pk],
    )


@pytest.mark.django_db(transaction=True)
def test_a_run_skips_while_another_holds_the_stream_and_counts_the_skip(
    project: Project, other_session: psycopg.Connection
) -> None:
    RollupWatermark.objects.create(stream=STREAM, watermark=None)
    redis_client().delete(task_stats.KEY.format(task=roll_up.name))
    with other_session.transaction():
        other_session.execute("SELECT 1 FROM events_rollupwatermark WHERE stream = %s FOR UPDATE", [STREAM])
        assert roll_up_events(FAR_FUTURE).skipped
        roll_up.apply()
    assert task_stats.read([roll_up.name])[roll_up.name]["skipped"] == 1
    assert not roll_up_events(FAR_FUTURE).skipped


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_transaction_still_open_wait_for_the_next_run(
    project: Project, other_session: psycopg.Connection
) -> None:
    with connection.cursor() as cursor:
        # A name and tag set seen before: writers of an entry new to the project wait for the first to commit it.
        encode(cursor, project.pk, ["order"], ["{}"])
    with other_session.transaction():
        insert_order(other_session, project)  # stamped with its transaction's start, committed later
        with psycopg.connect(**_params(autocommit=True)) as third:
            insert_order(third, project)  # committed at once
        first = roll_up_events(FAR_FUTURE)
        assert day_count(project) == 0  # the open writer began before both rows: the target stops short
    second = roll_up_events(FAR_FUTURE)
    assert first.watermark < second.watermark == FAR_FUTURE - SAFETY_LAG
    assert day_count(project) == 2


@pytest.mark.django_db(transaction=True)
def test_a_run_that_waited_for_the_lock_works_toward_the_moment_it_got_it(
    project: Project, other_session: psycopg.Connection
) -> None:
    RollupWatermark.objects.create(stream=STREAM, watermark=None)
    runs = []
    with other_session.transaction():
        other_session.execute("SELECT 1 FROM events_rollupwatermark WHERE stream = %s FOR UPDATE", [STREAM])
        waiting = threading.Thread(target=lambda: runs.append(_run_and_close(wait=True)))
        waiting.start()
        _wait_until_blocked(other_session)
        released_at = other_session.execute("SELECT clock_timestamp()").fetchone()[0]
    waiting.join()
    assert runs[0].watermark >= released_at - SAFETY_LAG


def test_expired_tasks_are_counted() -> None:
    redis_client().delete(task_stats.KEY.format(task="anomalies.tasks.dispatch_scans"))
    request = SimpleNamespace(task="anomalies.tasks.dispatch_scans")
    task_revoked.send(sender=None, request=request, terminated=False, signum=None, expired=True)
    task_revoked.send(sender=None, request=request, terminated=True, signum=15, expired=False)
    assert task_stats.read(["anomalies.tasks.dispatch_scans"])["anomalies.tasks.dispatch_scans"] == {"expired": 1}


def test_every_routed_queue_has_a_worker_under_make_run_and_docker_compose() -> None:
    queues = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()} | {"celery"}
    procfile = (ROOT / "Procfile").read_text()
    assert queues <= set(re.findall(r"--queues (\S+)", procfile))
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"].values()
    commands = [service["command"] for service in services if "worker" in service.get("command", [])]
    assert queues <= {command[command.index("--queues") + 1] for command in commands}


def _params(autocommit: bool) -> dict:
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return {**params, "autocommit": autocommit}


def _run_and_close(wait: bool) -> object:
    try:
        return roll_up_events(wait=wait)
    finally:
        connection.close()


def _wait_until_blocked(session: psycopg.Connection) -> None:
    """Until another session waits for a lock this one holds (no sleeping on a guess)."""
    for _ in range(6000):  # at most a minute: a lock never waited for fails the test, not hangs it
        if session.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [session.info.backend_pid]
        ).fetchone()[0]:
            return
        session.execute("SELECT pg_sleep(0.01)")
    raise AssertionError("no session waited for this one's lock within a minute")


@pytest.mark.django_db(transaction=True)
def test_a_run_analyzes_stale_partitions_before_its_merge(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run planned on partitions never analyzed (autovacuum off) took a week's backfill in 11+ minutes
    instead of 1.4 s: what analyze_stale finds stale is analyzed before the merge reads it, and after."""
    from flux.query import rollup_job
    from metrics.rollups import METRICS

    steps: list[str] = []
    monkeypatch.setattr(rollup_job, "analyze_stale", lambda stream: steps.append(f"analyze {stream.raw_table}"))

    def merge(cursor: object, window: object) -> tuple[int, int]:
        steps.append("merge")
        return 0, 0

    stream = type(METRICS)("analyze-first", METRICS.raw_table, METRICS.rollup_tables, merge)  # no touched hooks
    rollup_job.run_rollup(stream, FAR_FUTURE)
    assert steps == ["analyze metrics_point", "merge", "analyze metrics_point"]
