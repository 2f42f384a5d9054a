"""The one helper for raw read queries; SQL lives with the app that owns it."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction


def fetch_all(sql: str, params: list[Any]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Run the enclosed reads on one snapshot (REPEATABLE READ), so that a rollup watermark and the
    rollup rows read after it agree even if the rollup job commits in between. Inside an existing
    transaction (tests, services) the reads share that one's snapshot rules instead."""
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            # Merging sketches sorts or hashes tens of thousands of rows; keep that in memory.
            cursor.execute("SET LOCAL work_mem = '32MB'")
        yield
