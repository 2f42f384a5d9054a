from django.db import migrations, models

from flux.storage.keys import primary_key_replacing_id, primary_key_with_project


class Migration(migrations.Migration):
    """project_id in front of the series' keys (primary key and the ingest upsert's target) and of the
    cardinality limit hits' (whose unique key becomes the primary key), so both can be distributed by project."""

    dependencies = [
        ("metrics", "0004_cardinality_limit_hits"),
        ("tenants", "0002_apikey_provisioned"),
        # The watches' foreign key to the series' id alone must be gone before that key changes.
        ("anomalies", "0006_watch_references_without_single_column_keys"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="metricseries",
            constraint=models.UniqueConstraint(
                fields=("project", "metric", "tags_hash"), name="one_series_per_project_metric_and_tags"
            ),
        ),
        migrations.RemoveConstraint(model_name="metricseries", name="one_series_per_metric_and_tags"),
        migrations.AddIndex(model_name="metricseries", index=models.Index(fields=["id"], name="series_id_lookup")),
        primary_key_with_project("metrics_metricseries"),
        # Django cannot migrate a table to a composite primary key by itself: the state changes as Django sees
        # them, the table by SQL.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="cardinalitylimithit", name="one_limit_hit_per_metric_and_key"),
                migrations.RemoveField(model_name="cardinalitylimithit", name="id"),
                migrations.AddField(
                    model_name="cardinalitylimithit",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "project", "metric", "tag_key", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
            database_operations=[
                primary_key_replacing_id(
                    "metrics_cardinalitylimithit",
                    ("project_id", "metric_id", "tag_key"),
                    "one_limit_hit_per_metric_and_key",
                )
            ],
        ),
    ]
