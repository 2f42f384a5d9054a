"""Which storage layout applies: TimescaleDB hypertables when the extension is there, else native partitions."""

import logging

from django.conf import settings
from django.db import transaction
from django.db.backends.utils import CursorWrapper
from django.db.utils import DatabaseError

logger = logging.getLogger(__name__)

TIMESCALEDB = "timescaledb"
POSTGRES = "postgres"
CITUS = "citus"


class StorageConfigurationError(RuntimeError):
    pass


def timescaledb_installed(cursor: CursorWrapper) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'")
    return cursor.fetchone() is not None


def citus_installed(cursor: CursorWrapper) -> bool:
    cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
    return cursor.fetchone() is not None


def timescaledb_available(cursor: CursorWrapper) -> bool:
    cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'")
    return cursor.fetchone() is not None


def timescaledb_preloaded(cursor: CursorWrapper) -> bool:
    cursor.execute("SELECT current_setting('shared_preload_libraries')")
    libraries = [library.strip().strip('"').rsplit("/", 1)[-1] for library in cursor.fetchone()[0].split(",")]
    return "timescaledb" in libraries


def why_timescaledb_cannot_be_enabled(cursor: CursorWrapper) -> str | None:
    """Checked before CREATE EXTENSION: without the preload, that is a FATAL that closes the connection."""
    if not timescaledb_available(cursor):
        return "the timescaledb extension is not installed on the server"
    if not timescaledb_preloaded(cursor):
        return "timescaledb is installed but not in shared_preload_libraries (add it and restart the server)"
    return None


def _try_create_extension(cursor: CursorWrapper) -> str | None:
    """Create the extension; on failure return the server's message instead of raising."""
    try:
        # A savepoint, so a failure (e.g. the library is not preloaded) leaves the migration usable.
        with transaction.atomic():
            cursor.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except DatabaseError as error:
        return str(error).strip()
    return None


def choose_backend(cursor: CursorWrapper) -> str:
    """Decide, at migrate time, how raw tables are stored, honouring FLUX_STORAGE (auto/timescaledb/postgres/citus)."""
    wanted = settings.FLUX_STORAGE
    if wanted in (POSTGRES, CITUS):
        return POSTGRES  # Citus distributes natively partitioned tables (it cannot share a server with TimescaleDB)
    if timescaledb_installed(cursor):
        return TIMESCALEDB
    if wanted == "auto" and citus_installed(cursor):
        return POSTGRES
    failure = why_timescaledb_cannot_be_enabled(cursor) or _try_create_extension(cursor)
    if failure is None:
        return TIMESCALEDB
    if wanted == TIMESCALEDB:
        raise StorageConfigurationError(f"FLUX_STORAGE=timescaledb but the extension cannot be used: {failure}")
    if timescaledb_available(cursor):
        logger.warning("FLUX_STORAGE=auto: TimescaleDB not used (%s); using native PostgreSQL partitions", failure)
    return POSTGRES


def table_layout(cursor: CursorWrapper, table: str) -> str | None:
    """How an existing table is stored: 'timescaledb', 'postgres' (partitioned), or None if it is absent."""
    cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
    row = cursor.fetchone()
    if row is None:
        return None
    if row[0] == "p":
        return POSTGRES
    if timescaledb_installed(cursor):
        cursor.execute("SELECT 1 FROM timescaledb_information.hypertables WHERE hypertable_name = %s", [table])
        if cursor.fetchone() is not None:
            return TIMESCALEDB
    raise StorageConfigurationError(f"{table} is neither partitioned nor a hypertable")
