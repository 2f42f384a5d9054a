import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """Drops the foreign keys on series_id and watch_id alone (and the one-to-one's unique index on watch_id),
    so that metrics 0005 and anomalies 0007 can put project_id in front of the keys they reference; 0007
    adds them back as (project_id, …) foreign keys."""

    dependencies = [("anomalies", "0005_merge_thresholds_and_watch_interval"), ("metrics", "0004_cardinality_limit_hits")]

    operations = [
        migrations.AlterField(
            model_name="anomaly",
            name="watch",
            field=models.ForeignKey(
                db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="anomalies",
                to="anomalies.watch",
            ),
        ),
        migrations.AlterField(
            model_name="thresholdrule",
            name="watch",
            field=models.ForeignKey(
                db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="threshold_rules",
                related_query_name="threshold_rule", to="anomalies.watch",
            ),
        ),
        migrations.AlterField(
            model_name="watch",
            name="series",
            field=models.ForeignKey(
                blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE,
                to="metrics.metricseries",
            ),
        ),
    ]  # fmt: skip
