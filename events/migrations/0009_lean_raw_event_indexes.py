from django.db import migrations

from flux.storage.migration import replace_index_operation

BRIN_ON_ID = "USING brin (id) WITH (pages_per_range = 32, autosummarize = on)"


class Migration(migrations.Migration):
    dependencies = [("events", "0008_saved_views")]

    # Definitions are written out, not imported, so this migration keeps meaning what it meant. On a new
    # database 0001 already made these indexes; rebuilding them while the table is empty costs nothing.
    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS events_event_tags",
            "CREATE INDEX events_event_tags ON events_event USING gin (tags jsonb_path_ops)",
        ),
        migrations.RunSQL(
            "ALTER TABLE events_event DROP CONSTRAINT IF EXISTS events_event_pkey",
            "ALTER TABLE events_event ADD PRIMARY KEY (id, time)",
        ),
        migrations.RunSQL(
            [
                "DROP INDEX IF EXISTS events_event_id_brin",
                f"CREATE INDEX events_event_id_brin ON events_event {BRIN_ON_ID}",
            ],
            "DROP INDEX IF EXISTS events_event_id_brin",
        ),
        replace_index_operation(
            "events_event", "project_name_time", "(project_id, name, time)", "(project_id, name, time DESC)"
        ),
        replace_index_operation("events_event", "project_time", "(project_id, time)", "(project_id, time DESC)"),
        migrations.RunSQL(
            "DROP INDEX IF EXISTS events_event_project_user_time",
            "CREATE INDEX events_event_project_user_time ON events_event (project_id, user_id, time DESC)"
            " WHERE user_id IS NOT NULL",
        ),
    ]
