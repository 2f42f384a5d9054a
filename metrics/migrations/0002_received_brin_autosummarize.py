from django.db import migrations

from flux.storage.tables import RECEIVED_BRIN


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]

    operations = [
        migrations.RunSQL(
            [
                "DROP INDEX IF EXISTS metrics_point_received_brin",
                f"CREATE INDEX metrics_point_received_brin ON metrics_point {RECEIVED_BRIN}",
            ],
            [
                "DROP INDEX IF EXISTS metrics_point_received_brin",
                "CREATE INDEX metrics_point_received_brin ON metrics_point USING brin (received_at)",
            ],
        )
    ]
