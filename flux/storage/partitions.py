"""Native PostgreSQL storage: `PARTITION BY RANGE (time)` with one partition per UTC day.

A DEFAULT partition catches any row whose day has no partition yet (late data, a clock far ahead),
so an insert never fails for want of a partition; `ensure_partitions` later moves such rows into
their day's partition. Identifiers and bounds in this module come from Flux's own constants and
datetimes, never from user input, which is why DDL is assembled as text.
"""

import zlib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db.backends.utils import CursorWrapper

from flux.storage.tables import TimeSeriesTable

DAY_STAMP_FORMAT = "%Y%m%d"


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _lock(cursor: CursorWrapper, table: TimeSeriesTable) -> None:
    # Serialises partition DDL per table between workers (beat can overlap a migrate or a manual run).
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(f"flux-partitions:{table.name}".encode())])


def create_partitioned_table(cursor: CursorWrapper, table: TimeSeriesTable, with_indexes: bool = True) -> None:
    for sequence in table.sequences:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {sequence}")
    key = f", PRIMARY KEY {table.primary_key}" if table.primary_key else ""
    cursor.execute(f"CREATE TABLE {table.name} ({table.columns}{key}) PARTITION BY RANGE (time)")
    cursor.execute(f"CREATE TABLE {table.default_partition} PARTITION OF {table.name} DEFAULT")
    for statement in table.create_index_statements() if with_indexes else ():
        cursor.execute(statement)


def list_partition_days(cursor: CursorWrapper, table: TimeSeriesTable) -> list[date]:
    """Days that have their own partition, oldest first (the default partition is not a day)."""
    cursor.execute(
        """
        SELECT child.relname FROM pg_inherits
        JOIN pg_class child ON child.oid = pg_inherits.inhrelid
        WHERE pg_inherits.inhparent = to_regclass(%s) AND child.relname LIKE %s
        """,
        [table.name, f"{table.name}\\_p%"],
    )
    prefix_length = len(table.name) + 2
    return sorted(datetime.strptime(name[prefix_length:], DAY_STAMP_FORMAT).date() for (name,) in cursor.fetchall())


def days_waiting_in_default(cursor: CursorWrapper, table: TimeSeriesTable) -> list[date]:
    cursor.execute(f"SELECT DISTINCT (time AT TIME ZONE 'UTC')::date FROM {table.default_partition}")
    return sorted(day for (day,) in cursor.fetchall())


def create_day_partition(cursor: CursorWrapper, table: TimeSeriesTable, day: date) -> None:
    """Create one day's partition, moving in any rows of that day that wait in the default partition."""
    name = table.partition_name(day.strftime(DAY_STAMP_FORMAT))
    lower, upper = day_start(day).isoformat(), day_start(day + timedelta(days=1)).isoformat()
    cursor.execute(f"CREATE TABLE {name} (LIKE {table.name} INCLUDING DEFAULTS)")
    # Attaching fails if the default partition still holds rows of the new range, so move them first.
    cursor.execute(
        f"""
        WITH moved AS (
            DELETE FROM {table.default_partition} WHERE time >= %s AND time < %s RETURNING *
        )
        INSERT INTO {name} SELECT * FROM moved
        """,
        [lower, upper],
    )
    # The CHECK lets ATTACH skip scanning the new partition; it is redundant once attached.
    cursor.execute(f"ALTER TABLE {name} ADD CONSTRAINT {name}_bounds CHECK (time >= '{lower}' AND time < '{upper}')")
    cursor.execute(f"ALTER TABLE {table.name} ATTACH PARTITION {name} FOR VALUES FROM ('{lower}') TO ('{upper}')")
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_bounds")


def ensure_partitions(
    cursor: CursorWrapper, table: TimeSeriesTable, wanted_days: Iterable[date], oldest_kept: date
) -> list[date]:
    """Create missing partitions for `wanted_days` and for days waiting in the default partition.

    Days older than `oldest_kept` get no partition: retention deletes their rows instead.
    Returns the days created. Call inside a transaction.
    """
    _lock(cursor, table)
    existing = set(list_partition_days(cursor, table))
    needed = set(wanted_days) | set(days_waiting_in_default(cursor, table))
    created = sorted(day for day in needed - existing if day >= oldest_kept)
    for day in created:
        create_day_partition(cursor, table, day)
    return created


def drop_partitions_before(cursor: CursorWrapper, table: TimeSeriesTable, cutoff: datetime) -> list[date]:
    """Drop every day partition that ends at or before `cutoff`; trim the default partition too."""
    _lock(cursor, table)
    dropped = []
    for day in list_partition_days(cursor, table):
        if day_start(day + timedelta(days=1)) <= cutoff:
            cursor.execute(f"DROP TABLE {table.partition_name(day.strftime(DAY_STAMP_FORMAT))}")
            dropped.append(day)
    cursor.execute(f"DELETE FROM {table.default_partition} WHERE time < %s", [cutoff])
    return dropped
