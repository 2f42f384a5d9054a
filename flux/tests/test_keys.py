"""Every key of a table that grows with the data leads with project_id, so the table can be distributed by
project (docs/storage.md, "Keys"): read from the catalog after migrations, on both layouts."""

import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from flux.storage import registry
from flux.tenants.models import Project
from metrics.models import MetricSeries
from metrics.tests.factories import make_series

pytestmark = pytest.mark.storage

# Small tables that may keep single-column keys: reference tables on a distributed database, or tables
# that stay on its coordinator.
REFERENCE_TABLES = set(registry.REFERENCE_TABLES) | set(registry.COORDINATOR_TABLES)
# Tables still being re-keyed elsewhere; an entry must go once its keys lead with project_id:
# test_no_table_is_exempted_that_no_longer_needs_it says which.
BEING_REKEYED: set[str] = set()
EXEMPT = REFERENCE_TABLES | BEING_REKEYED

# Primary keys and unique indexes (every ON CONFLICT target is one) of the tables in public, with their
# columns in key order; partitions and chunks follow their parent.
UNIQUE_KEYS = """
    SELECT t.relname, i.relname, x.indisprimary,
           array(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY k(attnum, n)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)
    FROM pg_index x
    JOIN pg_class t ON t.oid = x.indrelid
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND x.indisunique AND NOT t.relispartition
"""
FOREIGN_KEYS = """
    SELECT t.relname, c.conname, r.relname,
           array(SELECT a.attname FROM unnest(c.conkey) AS k(attnum)
                 JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum)
    FROM pg_constraint c
    JOIN pg_class t ON t.oid = c.conrelid
    JOIN pg_class r ON r.oid = c.confrelid
    JOIN pg_namespace n ON n.oid = t.relnamespace
    WHERE n.nspname = 'public' AND c.contype = 'f' AND NOT t.relispartition
"""
TABLES = """
    SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""
SOURCE_ROOT = Path(__file__).resolve().parents[2]
CONFLICT_TARGET = re.compile(r"ON CONFLICT \(([^)]*)\)", re.IGNORECASE)


def fetch(sql: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchall()


def keys_without_leading_project() -> dict[str, list[str]]:
    """{table: ["index (columns)", …]} for every primary key or unique index not led by project_id."""
    found: dict[str, list[str]] = {}
    for table, index, _, columns in fetch(UNIQUE_KEYS):
        if columns[:1] != ["project_id"]:
            found.setdefault(table, []).append(f"{index} ({', '.join(columns)})")
    return found


def conflict_targets() -> list[tuple[str, frozenset[str]]]:
    """(file, target columns) of every `ON CONFLICT (…)` in Flux's code, tests and migrations excepted."""
    targets = []
    for path in sorted(SOURCE_ROOT.glob("*/**/*.py")):
        relative = path.relative_to(SOURCE_ROOT)
        if relative.parts[0].startswith(".") or "tests" in relative.parts or "migrations" in relative.parts:
            continue
        for columns in CONFLICT_TARGET.findall(path.read_text()):
            targets.append((str(relative), frozenset(column.strip() for column in columns.split(","))))
    return targets


@pytest.mark.django_db
def test_every_key_of_a_distributable_table_leads_with_project_id() -> None:
    offending = {table: keys for table, keys in keys_without_leading_project().items() if table not in EXEMPT}
    assert offending == {}


@pytest.mark.django_db
def test_every_exempted_table_exists() -> None:
    assert EXEMPT - {table for (table,) in fetch(TABLES)} == set()


@pytest.mark.django_db
def test_no_table_is_exempted_that_no_longer_needs_it() -> None:
    still_needed = set(keys_without_leading_project())
    assert BEING_REKEYED - still_needed == set(), "re-keyed on project_id: remove these from BEING_REKEYED"


@pytest.mark.django_db
def test_foreign_keys_between_distributable_tables_carry_project_id() -> None:
    offending = [
        (table, name, columns)
        for table, name, target, columns in fetch(FOREIGN_KEYS)
        if table not in EXEMPT and target not in REFERENCE_TABLES and "project_id" not in columns
    ]
    assert offending == []


@pytest.mark.django_db
def test_no_reference_table_points_at_a_distributable_one() -> None:
    offending = [
        (table, name, target)
        for table, name, target, _ in fetch(FOREIGN_KEYS)
        if table in REFERENCE_TABLES and target not in REFERENCE_TABLES
    ]
    assert offending == []


@pytest.mark.django_db
def test_every_conflict_target_is_a_unique_key_with_project_id() -> None:
    # An ON CONFLICT target names the columns of a unique index, in any order.
    tables_by_key: dict[frozenset[str], set[str]] = {}
    for table, _, _, columns in fetch(UNIQUE_KEYS):
        tables_by_key.setdefault(frozenset(columns), set()).add(table)
    targets = conflict_targets()
    assert len(targets) >= 5  # the scan finds the upserts (series, seen ids, limit hits, …)
    offending = [
        (path, sorted(columns))
        for path, columns in targets
        if not tables_by_key.get(columns) or ("project_id" not in columns and tables_by_key[columns] - EXEMPT)
    ]
    assert offending == []


@pytest.mark.django_db
def test_saving_a_project_keyed_row_updates_it_by_project_and_never_rewrites_project_id(project: Project) -> None:
    series = make_series(project, "queue.depth", host="a")
    series.tags = {"host": "b"}
    with CaptureQueriesContext(connection) as captured:
        series.save()
    (update,) = [query["sql"] for query in captured.captured_queries if query["sql"].startswith("UPDATE")]
    assert update.split(" WHERE ")[1].count('"project_id"') == 1
    assert '"project_id"' not in update.split(" WHERE ")[0]
    assert MetricSeries.objects.get(pk=series.pk).tags == {"host": "b"}


@pytest.mark.django_db
def test_every_table_is_in_the_registry_as_distributed_reference_or_coordinator_only() -> None:
    # On Citus an unlisted table would stay on the coordinator, where no distributed table may join it.
    tables = {table for (table,) in fetch(TABLES)}
    lists = registry.DISTRIBUTED_TABLES, registry.REFERENCE_TABLES, registry.COORDINATOR_TABLES
    assert tables - {table for tables in lists for table in tables} == set(), "add these to flux/storage/registry.py"
    assert sum(len(tables) for tables in lists) == len({table for tables in lists for table in tables})
