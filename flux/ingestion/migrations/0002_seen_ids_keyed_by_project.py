from django.db import migrations, models

from flux.storage.keys import primary_key_replacing_id


class Migration(migrations.Migration):
    dependencies = [("ingestion", "0001_initial")]

    # Django cannot migrate a table to a composite primary key by itself: the state changes as Django sees
    # them, the table by SQL (the unique key becomes the primary key; the surrogate id goes).
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveConstraint(model_name="seenitemid", name="one_seen_id_per_project_kind"),
                migrations.RemoveField(model_name="seenitemid", name="id"),
                migrations.AddField(
                    model_name="seenitemid",
                    name="pk",
                    field=models.CompositePrimaryKey(
                        "project_id", "kind", "client_id", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
            ],
            database_operations=[
                primary_key_replacing_id(
                    "ingestion_seenitemid", ("project_id", "kind", "client_id"), "one_seen_id_per_project_kind"
                )
            ],
        )
    ]
