from django.db import migrations

from flux.storage.tables import RECEIVED_BRIN


class Migration(migrations.Migration):
    dependencies = [("events", "0002_rollups")]

    operations = [
        migrations.RunSQL(
            [
                "DROP INDEX IF EXISTS events_event_received_brin",
                f"CREATE INDEX events_event_received_brin ON events_event {RECEIVED_BRIN}",
            ],
            [
                "DROP INDEX IF EXISTS events_event_received_brin",
                "CREATE INDEX events_event_received_brin ON events_event USING brin (received_at)",
            ],
        )
    ]
