from django.db import migrations

from flux.storage.migration import replace_index_operation


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]

    # Definitions are written out, not imported, so this migration keeps meaning what it meant.
    operations = [
        replace_index_operation(
            "metrics_point",
            "received_brin",
            "USING brin (received_at) WITH (pages_per_range = 32, autosummarize = on)",
            "USING brin (received_at)",
        )
    ]
