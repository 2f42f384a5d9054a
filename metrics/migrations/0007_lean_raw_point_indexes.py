from django.db import migrations

from flux.storage.migration import replace_index_operation


class Migration(migrations.Migration):
    dependencies = [("metrics", "0006_merge_20261206_1412")]

    # Definitions are written out, not imported, so this migration keeps meaning what it meant. On a new
    # database 0001 already made these indexes; rebuilding them while the table is empty costs nothing.
    operations = [
        replace_index_operation(
            "metrics_point", "series_time", "(project_id, series_id, time)", "(series_id, time DESC)"
        ),
        migrations.RunSQL(
            "DROP INDEX IF EXISTS metrics_point_project_time",
            "CREATE INDEX metrics_point_project_time ON metrics_point (project_id, time DESC)",
        ),
    ]
