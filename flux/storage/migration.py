"""A migration operation that creates (and on reverse drops) a time-series table via flux.storage."""

from django.db import migrations

from flux.storage import create_time_series_table, drop_time_series_table
from flux.storage.tables import TimeSeriesTable


def create_table_operation(table: TimeSeriesTable) -> migrations.RunPython:
    def forwards(apps: object, schema_editor: object) -> None:
        with schema_editor.connection.cursor() as cursor:
            create_time_series_table(cursor, table)

    def backwards(apps: object, schema_editor: object) -> None:
        with schema_editor.connection.cursor() as cursor:
            drop_time_series_table(cursor, table)

    return migrations.RunPython(forwards, backwards)


def replace_index_operation(table: str, suffix: str, definition: str, previous_definition: str) -> migrations.RunSQL:
    """Rebuild one index of a time-series table (on the parent; partitions and chunks follow)."""
    name = f"{table}_{suffix}"
    return migrations.RunSQL(
        [f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON {table} {definition}"],
        [f"DROP INDEX IF EXISTS {name}", f"CREATE INDEX {name} ON {table} {previous_definition}"],
    )
