from django.db import migrations


class Migration(migrations.Migration):
    """Tag rollups are now kept by the hour and day only; minute rows are no longer read or written."""

    dependencies = [("events", "0006_tag_rollup_children_index")]

    operations = [
        migrations.RunSQL("DELETE FROM events_eventtagrollup WHERE level = 'minute'", migrations.RunSQL.noop),
    ]
