from django.db import migrations

from flux.storage.migration import replace_index_operation


class Migration(migrations.Migration):
    dependencies = [("events", "0002_rollups")]

    # Definitions are written out, not imported, so this migration keeps meaning what it meant.
    operations = [
        replace_index_operation(
            "events_event",
            "received_brin",
            "USING brin (received_at) WITH (pages_per_range = 32, autosummarize = on)",
            "USING brin (received_at)",
        )
    ]
