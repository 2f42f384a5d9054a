import django.db.models.deletion
from django.db import migrations, models

from flux.storage.keys import foreign_key_with_project, primary_key_with_project

PER_SERIES_TABLES = ("anomalies_watch", "anomalies_anomaly", "anomalies_thresholdrule", "anomalies_delivery")


class Migration(migrations.Migration):
    """project_id in front of every key of the tables that grow with the series (watches, anomalies, threshold
    rules, deliveries), and in the foreign keys between them, so they can be distributed by project.
    Deliveries gain their channel's project."""

    dependencies = [
        ("anomalies", "0006_watch_references_without_single_column_keys"),
        ("metrics", "0005_series_and_limit_hits_keyed_by_project"),
        ("tenants", "0002_apikey_provisioned"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="project",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.project"
            ),
        ),
        migrations.RunSQL(
            """UPDATE anomalies_delivery d SET project_id = c.project_id
               FROM anomalies_channel c WHERE c.id = d.channel_id""",
            migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name="delivery",
            name="project",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE, related_name="+", to="tenants.project"
            ),
        ),
        migrations.AddConstraint(
            model_name="watch",
            constraint=models.UniqueConstraint(
                fields=("project", "series", "measure"), name="one_series_watch_per_project"
            ),
        ),
        migrations.RemoveConstraint(model_name="watch", name="one_series_watch"),
        migrations.AddConstraint(
            model_name="anomaly",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "resolved"), _negated=True),
                fields=("project", "watch"),
                name="one_unresolved_anomaly_per_project_watch",
            ),
        ),
        migrations.RemoveConstraint(model_name="anomaly", name="one_unresolved_anomaly_per_watch"),
        migrations.AddConstraint(
            model_name="thresholdrule",
            constraint=models.UniqueConstraint(fields=("project", "watch"), name="one_threshold_rule_per_watch"),
        ),
        migrations.AddIndex(model_name="watch", index=models.Index(fields=["id"], name="watch_id_lookup")),
        migrations.AddIndex(model_name="anomaly", index=models.Index(fields=["id"], name="anomaly_id_lookup")),
        migrations.AddIndex(
            model_name="thresholdrule", index=models.Index(fields=["id"], name="threshold_rule_id_lookup")
        ),
        migrations.AddIndex(model_name="delivery", index=models.Index(fields=["id"], name="delivery_id_lookup")),
        *[primary_key_with_project(table) for table in PER_SERIES_TABLES],
        foreign_key_with_project("anomalies_watch", "series_id", "metrics_metricseries", "watch_series_in_project"),
        foreign_key_with_project("anomalies_anomaly", "watch_id", "anomalies_watch", "anomaly_watch_in_project"),
        foreign_key_with_project(
            "anomalies_thresholdrule", "watch_id", "anomalies_watch", "threshold_rule_watch_in_project"
        ),
    ]
