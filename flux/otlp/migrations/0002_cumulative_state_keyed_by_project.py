from django.db import migrations, models

from flux.storage.keys import primary_key_replacing_id


class Migration(migrations.Migration):
    dependencies = [("otlp", "0001_initial")]

    # Django cannot migrate a table to a composite primary key by itself: the state changes as Django sees
    # them, the table by SQL (the unique key becomes the primary key; the surrogate id goes).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="cumulativestate", name="one_otlp_state_per_stream"),
                migrations.RemoveField(model_name="cumulativestate", name="id"),
                migrations.AddField(
                    model_name="cumulativestate",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "project_id", "stream", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
            database_operations=[
                primary_key_replacing_id("otlp_cumulativestate", ("project_id", "stream"), "one_otlp_state_per_stream")
            ],
        )
    ]
