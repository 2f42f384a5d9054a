"""Idempotency: claim client item ids so a retried item is acknowledged, not stored twice."""

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper

Item = TypeVar("Item")
PURGE_BATCH_ROWS = 10_000


def keep_first_claims(
    cursor: CursorWrapper, project_id: int, kind: str, items: list[Item], client_id: Callable[[Item], str | None]
) -> tuple[list[Item], int]:
    """Items to store: those without an id, and the first item of each id not stored before.

    Returns (items to store, number of duplicates acknowledged). One statement for the whole batch;
    a concurrent request with the same id waits on the unique index and then sees it as taken.
    """
    first_by_id: dict[str, Item] = {}
    for item in items:
        item_id = client_id(item)
        if item_id is not None:
            first_by_id.setdefault(item_id, item)
    if not first_by_id:
        return items, 0
    cursor.execute(
        """
        INSERT INTO ingestion_seenitemid (project_id, kind, client_id, seen_at)
        SELECT %s, %s, client_id, now() FROM unnest(%s::text[]) AS client_id
        ON CONFLICT (project_id, kind, client_id) DO NOTHING
        RETURNING client_id
        """,
        [project_id, kind, sorted(first_by_id)],  # sorted: concurrent batches lock in the same order
    )
    claimed = {row[0] for row in cursor.fetchall()}
    keep = [item for item in items if client_id(item) is None or first_by_id.get(client_id(item)) is item]
    keep = [item for item in keep if client_id(item) is None or client_id(item) in claimed]
    return keep, len(items) - len(keep)


def purge_seen_ids(older_than: datetime) -> int:
    """Forget ids seen before `older_than`, project by project in batches; returns how many were deleted."""
    deleted = 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT DISTINCT project_id FROM ingestion_seenitemid WHERE seen_at < %s", [older_than])
        for (project_id,) in cursor.fetchall():
            deleted += purge_project_seen_ids(cursor, project_id, older_than)
    return deleted


def purge_project_seen_ids(cursor: CursorWrapper, project_id: int, older_than: datetime) -> int:
    # Keyed by project (the outer WHERE included), so that on a table distributed by project each batch
    # is a delete on one shard.
    deleted = 0
    while True:
        with transaction.atomic():
            cursor.execute(
                """
                DELETE FROM ingestion_seenitemid WHERE project_id = %s AND (kind, client_id) IN (
                    SELECT kind, client_id FROM ingestion_seenitemid WHERE project_id = %s AND seen_at < %s LIMIT %s
                )
                """,
                [project_id, project_id, older_than, PURGE_BATCH_ROWS],
            )
            deleted += cursor.rowcount
        if cursor.rowcount < PURGE_BATCH_ROWS:
            return deleted
