"""Citus: the large tables distributed by project_id and co-located, the small ones reference tables
(docs/scaling.md). Raw tables keep their native day partitions (Citus and TimescaleDB cannot share a server).

`migrate` does it all: before the migrations, `prepare_database` makes the database a Citus database
(the extension on every node, the workers of FLUX_CITUS_WORKERS registered); after them,
`distribute_tables` converts every table of flux.storage.registry not converted yet.
"""

import logging
import re

import psycopg
from django.conf import settings
from django.db import connection as default_connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.utils import DatabaseError

from flux.storage.detect import CITUS, StorageConfigurationError, citus_installed
from flux.storage.registry import DISTRIBUTED_TABLES, REFERENCE_TABLES

logger = logging.getLogger(__name__)

DISTRIBUTION_COLUMN = "project_id"

# Foreign keys of (or onto) the tables about to be converted, set aside while they are: converting a table
# that others point at would turn those into "Citus local tables" first, which fails on tables that once
# had an identity column dropped, and a distributed table may not point at a plain local one.
FOREIGN_KEYS_TOUCHING = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE contype = 'f' AND conparentid = 0
      AND (conrelid = ANY(%(tables)s::regclass[]) OR confrelid = ANY(%(tables)s::regclass[]))
"""


def citus_wanted(cursor: CursorWrapper) -> bool:
    """FLUX_STORAGE=citus, or (auto) a database where the citus extension is already created."""
    if settings.FLUX_STORAGE == CITUS:
        return True
    return settings.FLUX_STORAGE == "auto" and citus_installed(cursor)


def worker_addresses() -> list[tuple[str, int]]:
    addresses = []
    for address in settings.FLUX_CITUS_WORKERS:
        host, _, port = address.rpartition(":")
        addresses.append((host, int(port)) if host else (address, 5432))
    return addresses


def create_on_worker(host: str, port: int, options: dict) -> None:
    """The same database on a worker, with the extension: Citus keeps its metadata per database."""
    login = {"host": host, "port": port, "user": options["USER"] or None, "password": options["PASSWORD"] or None}
    database = options["NAME"]
    with psycopg.connect(dbname="postgres", autocommit=True, **login) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone() is None:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(database)))
    with psycopg.connect(dbname=database, autocommit=True, **login) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS citus")


def prepare_database(connection: BaseDatabaseWrapper = default_connection) -> bool:
    """Make the current database a Citus coordinator when Citus is wanted, registering the workers of
    FLUX_CITUS_WORKERS that it does not know yet (each with the same database and the extension); True if
    it is one. Idempotent: `migrate` calls it every time."""
    with connection.cursor() as cursor:
        if not citus_wanted(cursor):
            return False
        if not citus_installed(cursor):
            try:
                cursor.execute("CREATE EXTENSION citus")
            except DatabaseError as error:
                failure = f"FLUX_STORAGE=citus but the extension cannot be created: {error}"
                raise StorageConfigurationError(failure) from error
        cursor.execute("SELECT nodename, nodeport, groupid FROM pg_dist_node")
        known = {(host, port): group for host, port, group in cursor.fetchall()}
        new_workers = [address for address in worker_addresses() if address not in known]
        if not new_workers:
            return True
        options = connection.settings_dict
        if 0 not in known.values():  # the workers reach the coordinator at the address Flux uses
            cursor.execute("SELECT citus_set_coordinator_host(%s, %s)", [options["HOST"], int(options["PORT"] or 5432)])
        for host, port in new_workers:
            create_on_worker(host, port, options)
            cursor.execute("SELECT citus_add_node(%s, %s)", [host, port])
    return True


def converted_tables(cursor: CursorWrapper) -> dict[str, str]:
    """{table: 'distributed' | 'reference' | 'local'} for the tables Citus knows."""
    cursor.execute("SELECT table_name::text, citus_table_type FROM citus_tables")
    return dict(cursor.fetchall())


def existing_tables(cursor: CursorWrapper, tables: tuple[str, ...]) -> list[str]:
    cursor.execute("SELECT name FROM unnest(%s::text[]) AS name WHERE to_regclass(name) IS NOT NULL", [list(tables)])
    return [name for (name,) in cursor.fetchall()]


def distribute_tables(cursor: CursorWrapper) -> dict[str, list[str]]:
    """Convert every registry table that exists and is not converted yet; returns what was converted."""
    done = converted_tables(cursor)
    reference = [table for table in existing_tables(cursor, REFERENCE_TABLES) if table not in done]
    distributed = [table for table in existing_tables(cursor, DISTRIBUTED_TABLES) if table not in done]
    if not reference and not distributed:
        return {}
    cursor.execute(FOREIGN_KEYS_TOUCHING, {"tables": reference + distributed})
    foreign_keys = cursor.fetchall()
    for table, name, _ in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for table in reference:
        cursor.execute("SELECT create_reference_table(%s)", [table])
    anchor = next((table for table in DISTRIBUTED_TABLES if done.get(table) == "distributed"), None)
    for table in distributed:
        cursor.execute(
            "SELECT create_distributed_table(%s, %s, colocate_with => %s)",
            [table, DISTRIBUTION_COLUMN, anchor or "none"],
        )
        anchor = anchor or table
    for table, name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    logger.info("citus: reference tables %s, distributed tables %s", reference, distributed)
    return {"reference": reference, "distributed": distributed}


def sequential_shard_writes() -> None:
    """In the current transaction, write to the shards of a distributed table one connection at a time: a
    transaction that modifies many shards (Django's cascade when a project is deleted) and a reference
    table (the project) is refused in Citus's default parallel mode. A no-op setting without Citus."""
    with default_connection.cursor() as cursor:
        cursor.execute("SET LOCAL citus.multi_shard_modify_mode TO 'sequential'")


# On Citus a raw table's rows live in the workers' shards, each a partitioned table whose partitions are
# named after the coordinator's with the shard id appended (events_event_p20261205_102235); the
# coordinator's partitions are empty. So the rollup job's BRIN summarizing runs on every worker, over its
# own connections, outside the caller's transaction: a partition that any transaction holds in a mode
# that summarizing waits for (ANALYZE, DDL) is skipped rather than waited for, since that transaction may
# be the caller's own (autosummarize gets to it later).
WORKER_SUMMARIZE_RECEIVED_BRIN = """
    SELECT coalesce(sum(brin_summarize_new_values(ix.indexrelid)), 0) FROM pg_index ix
    JOIN pg_class t ON t.oid = ix.indrelid
    JOIN pg_class i ON i.oid = ix.indexrelid
    JOIN pg_am am ON am.oid = i.relam AND am.amname = 'brin'
    JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = ix.indkey[0]
    WHERE a.attname = 'received_at' AND t.relispartition AND t.relname LIKE '{partitions}'
      AND NOT EXISTS (
          SELECT 1 FROM pg_locks l WHERE l.relation IN (t.oid, i.oid) AND l.granted
             AND l.mode IN ('ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock', 'ExclusiveLock',
                            'AccessExclusiveLock'))
"""


def run_on_workers(cursor: CursorWrapper, command: str) -> list[str]:
    """Run `command` on every worker; returns each worker's one-value result, raising if one failed."""
    cursor.execute("SELECT nodename, nodeport, success, result FROM run_command_on_workers(%s)", [command])
    rows = cursor.fetchall()
    failed = [f"{host}:{port}: {result}" for host, port, success, result in rows if not success]
    if failed:
        raise DatabaseError(f"on Citus workers: {'; '.join(failed)}")
    return [result for *_, result in rows]


def summarize_received_brin_on_workers(cursor: CursorWrapper, table: str) -> int:
    """flux.query.rollup_job.summarize_received_brin on Citus: the ranges summarized on all workers."""
    if not re.fullmatch(r"[a-z_]+", table):  # a registry name, put in the command as text
        raise ValueError(f"not a table name: {table!r}")
    partitions = table.replace("_", "\\_") + "\\_%"
    results = run_on_workers(cursor, WORKER_SUMMARIZE_RECEIVED_BRIN.format(partitions=partitions))
    return sum(int(result) for result in results)


# What `manage.py citus_layout` shows: per table and node, the shards and their bytes.
SHARDS_PER_NODE = """
    SELECT table_name::text, citus_table_type, colocation_id, nodename || ':' || nodeport, count(*), sum(shard_size)
    FROM citus_shards WHERE NOT table_name::text LIKE ANY(%s) GROUP BY 1, 2, 3, 4 ORDER BY 2, 1, 4
"""
PROJECT_PLACEMENT = """
    SELECT s.shardid, s.nodename || ':' || s.nodeport, s.shard_size
    FROM citus_shards s WHERE s.table_name = %s::regclass AND s.shardid = get_shard_id_for_distribution_column(%s, %s)
"""


def shards_per_node(cursor: CursorWrapper) -> list[tuple]:
    """(table, type, colocation id, node, shards, bytes) per table and node; day partitions are counted
    with their parent (their shards sit beside the parent's), not listed."""
    cursor.execute(SHARDS_PER_NODE, [["%\\_p________", "%\\_default"]])
    return cursor.fetchall()


def project_placement(cursor: CursorWrapper, project_id: int) -> list[tuple]:
    """(table, shard id, node, bytes) of the shard that holds `project_id` in each distributed table."""
    placements = []
    for table in existing_tables(cursor, DISTRIBUTED_TABLES):
        cursor.execute(PROJECT_PLACEMENT, [table, table, project_id])
        placements += [(table, *row) for row in cursor.fetchall()]
    return placements


def project_node(cursor: CursorWrapper, project_id: int) -> tuple[int, str, int]:
    """(shard id, host, port) of the shard of the raw events table that holds `project_id`: every co-located
    table's shard for the project sits on the same node."""
    cursor.execute(
        """SELECT shardid, nodename, nodeport FROM citus_shards
           WHERE table_name = %s::regclass AND shardid = get_shard_id_for_distribution_column(%s, %s)""",
        [DISTRIBUTED_TABLES[0], DISTRIBUTED_TABLES[0], project_id],
    )
    return cursor.fetchone()


def isolate_project(cursor: CursorWrapper, project_id: int) -> int:
    """Give a hot project a shard of its own in every co-located table (split out of the shard it shared);
    returns the new shard id of the raw events table. Writes to that shard wait while it is split: the raw
    tables have no primary key, so Citus copies them with writes blocked instead of logical replication."""
    cursor.execute(
        "SELECT isolate_tenant_to_new_shard(%s, %s, 'CASCADE', shard_transfer_mode => 'block_writes')",
        [DISTRIBUTED_TABLES[0], project_id],
    )
    return cursor.fetchone()[0]


def move_project(cursor: CursorWrapper, project_id: int, host: str, port: int) -> tuple[str, int]:
    """Move the shard group holding `project_id` (best isolated first) to the node host:port; returns the
    node it was on. Writes to the moved shards wait during the copy (block_writes, as above)."""
    shard, from_host, from_port = project_node(cursor, project_id)
    if (from_host, from_port) != (host, port):
        cursor.execute(
            "SELECT citus_move_shard_placement(%s, %s, %s, %s, %s, shard_transfer_mode => 'block_writes')",
            [shard, from_host, from_port, host, port],
        )
    return from_host, from_port
