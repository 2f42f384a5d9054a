# The cached history moves from a float8[] to packed float64 bytes (numpy reads and writes them without
# a per-value round trip). It is only a cache, rebuilt from the hour rollups by the next scan.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("anomalies", "0002_watch_history"),
    ]

    operations = [
        migrations.RemoveField(model_name="watch", name="history"),
        migrations.AddField(
            model_name="watch", name="history", field=models.BinaryField(blank=True, default=bytes)
        ),
        migrations.RunSQL("UPDATE anomalies_watch SET history_end = NULL", migrations.RunSQL.noop),
    ]
