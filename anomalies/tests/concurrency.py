"""Two workers at once, each on its own database connection, ordered by events and by the database's own
view of who waits for whom (no sleeping on a guess)."""

import threading
from collections.abc import Callable

import psycopg
from django.db import connection, connections


def session_params() -> dict:
    params = connection.get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    return {**params, "autocommit": True}


def backend_pid() -> int:
    """This thread's database session."""
    connection.ensure_connection()
    return connection.connection.info.backend_pid


def wait_until_blocked_by(pid: int) -> None:
    """Until another session waits for a lock that session `pid` holds."""
    with psycopg.connect(**session_params()) as watcher:
        for _ in range(6000):  # at most a minute: a lock never waited for fails the test, not hangs it
            if watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE %s = ANY(pg_blocking_pids(pid))", [pid]
            ).fetchone()[0]:
                return
            watcher.execute("SELECT pg_sleep(0.01)")
    raise AssertionError(f"no session waited for a lock of session {pid} within a minute")


class Worker(threading.Thread):
    """Runs `work` on its own connection; `result` or `error` once joined."""

    def __init__(self, work: Callable[[], object]) -> None:
        super().__init__(daemon=True)
        self.work, self.result, self.error = work, None, None

    def run(self) -> None:
        try:
            self.result = self.work()
        except Exception as error:  # noqa: BLE001 (raised again by outcome(), in the test)
            self.error = error
        finally:
            connections.close_all()

    def outcome(self, timeout: float = 60) -> object:
        self.join(timeout)
        assert not self.is_alive(), "the worker is still blocked"
        if self.error is not None:
            raise self.error
        return self.result
