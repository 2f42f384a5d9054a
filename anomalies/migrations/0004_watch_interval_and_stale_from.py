# Busy series are scored on five-minute buckets (interval_seconds), and rollup runs that recompute
# cached buckets mark the watch (stale_from) so its cached history is read again.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("anomalies", "0003_watch_history_as_bytes"),
    ]

    operations = [
        migrations.AddField(
            model_name="watch", name="interval_seconds", field=models.PositiveIntegerField(default=3600)
        ),
        migrations.AddField(
            model_name="watch", name="stale_from", field=models.DateTimeField(blank=True, null=True)
        ),
    ]
