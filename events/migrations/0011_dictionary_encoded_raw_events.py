"""Raw events dictionary-encoded: names and tag sets stored once per project, rows carry their ids.

Forwards: fill the dictionaries from the stored rows, copy every row into the new table `events_rawevent`
(the same layout as before: native partitions or a hypertable), build its indexes, drop the wide table,
and put the view `events_event` in its place. Backwards does the reverse. Both copy every raw row in one
transaction: stop ingestion first (docs/storage.md, "Changing the raw events table").
"""

from django.db import migrations, models

from events.migrations._raw_event_layouts import ENCODED_EVENTS_TABLE, WIDE_EVENTS_TABLE
from flux.storage import create_indexes, create_time_series_table, partitions
from flux.storage.detect import POSTGRES, table_layout
from flux.storage.tables import TimeSeriesTable

DICTIONARIES = """
    CREATE SEQUENCE events_eventname_id_seq AS integer;
    CREATE TABLE events_eventname (
        project_id bigint NOT NULL,
        id integer NOT NULL DEFAULT nextval('events_eventname_id_seq'),
        name text NOT NULL,
        CONSTRAINT events_eventname_pkey PRIMARY KEY (project_id, id),
        CONSTRAINT one_event_name_per_project UNIQUE (project_id, name)
    );
    ALTER SEQUENCE events_eventname_id_seq OWNED BY events_eventname.id;
    CREATE SEQUENCE events_eventtagset_id_seq AS integer;
    CREATE TABLE events_eventtagset (
        project_id bigint NOT NULL,
        id integer NOT NULL DEFAULT nextval('events_eventtagset_id_seq'),
        digest uuid NOT NULL,
        tags jsonb NOT NULL,
        CONSTRAINT events_eventtagset_pkey PRIMARY KEY (project_id, id),
        CONSTRAINT one_event_tagset_per_project UNIQUE (project_id, digest)
    );
    ALTER SEQUENCE events_eventtagset_id_seq OWNED BY events_eventtagset.id;
"""
FILL_DICTIONARIES = """
    INSERT INTO events_eventname (project_id, name) SELECT DISTINCT project_id, name FROM events_event ORDER BY 1, 2;
    INSERT INTO events_eventtagset (project_id, digest, tags)
    SELECT project_id, md5(tags::text)::uuid, tags FROM (SELECT DISTINCT project_id, tags FROM events_event) sets
    ORDER BY 1, 2;
"""
ENCODE_ROWS = """
    INSERT INTO events_rawevent (id, project_id, time, received_at, value, name_id, tagset_id, user_id, session_id,
                                 properties, environment, service, host, request_id, client_id)
    SELECT e.id, e.project_id, e.time, e.received_at, e.value, n.id, t.id, e.user_id, e.session_id,
           e.properties, e.environment, e.service, e.host, e.request_id, e.client_id
    FROM events_event e
    JOIN events_eventname n ON n.project_id = e.project_id AND n.name = e.name
    JOIN events_eventtagset t ON t.project_id = e.project_id AND t.digest = md5(e.tags::text)::uuid
"""
DECODE_ROWS = """
    INSERT INTO events_event (id, project_id, time, received_at, name, user_id, session_id, value, tags, properties,
                              environment, service, host, request_id, client_id)
    SELECT e.id, e.project_id, e.time, e.received_at, n.name, e.user_id, e.session_id, e.value, t.tags,
           e.properties, e.environment, e.service, e.host, e.request_id, e.client_id
    FROM events_rawevent e
    JOIN events_eventname n ON n.project_id = e.project_id AND n.id = e.name_id
    JOIN events_eventtagset t ON t.project_id = e.project_id AND t.id = e.tagset_id
"""
# LEFT JOINs on the dictionaries' primary keys: a query that uses neither name nor tags (a count over a
# time range) reads the raw table alone, because the planner removes such joins.
DECODING_VIEW = """
    CREATE VIEW events_event AS
    SELECT e.id, e.project_id, e.time, e.received_at, n.name, e.user_id, e.session_id, e.value, t.tags,
           e.properties, e.environment, e.service, e.host, e.request_id, e.client_id
    FROM events_rawevent e
    LEFT JOIN events_eventname n ON n.project_id = e.project_id AND n.id = e.name_id
    LEFT JOIN events_eventtagset t ON t.project_id = e.project_id AND t.id = e.tagset_id;
    ALTER VIEW events_event ALTER COLUMN id SET DEFAULT nextval('events_event_id_seq');
    ALTER VIEW events_event ALTER COLUMN received_at SET DEFAULT now();
    ALTER VIEW events_event ALTER COLUMN tags SET DEFAULT '{}'::jsonb;
    ALTER VIEW events_event ALTER COLUMN properties SET DEFAULT '{}'::jsonb;
"""
# INSERT and COPY into the view encode each row: for tests and hand-written SQL, not for bulk loads.
# Insert-on-miss: a concurrent transaction may insert the same entry first; ON CONFLICT waits for it,
# and once it committed, the select after it (a new statement, so a new snapshot) sees its entry.
ENCODING_TRIGGER = """
    CREATE FUNCTION events_name_id(project bigint, event_name text) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE found integer;
    BEGIN
        SELECT id INTO found FROM events_eventname WHERE project_id = project AND name = event_name;
        IF found IS NULL THEN
            INSERT INTO events_eventname (project_id, name) VALUES (project, event_name)
            ON CONFLICT (project_id, name) DO NOTHING RETURNING id INTO found;
        END IF;
        IF found IS NULL THEN
            SELECT id INTO found FROM events_eventname WHERE project_id = project AND name = event_name;
        END IF;
        RETURN found;
    END $$;
    CREATE FUNCTION events_tagset_id(project bigint, tag_set jsonb) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE found integer;
    DECLARE tag_digest uuid := md5(tag_set::text)::uuid;
    BEGIN
        SELECT id INTO found FROM events_eventtagset WHERE project_id = project AND digest = tag_digest;
        IF found IS NULL THEN
            INSERT INTO events_eventtagset (project_id, digest, tags) VALUES (project, tag_digest, tag_set)
            ON CONFLICT (project_id, digest) DO NOTHING RETURNING id INTO found;
        END IF;
        IF found IS NULL THEN
            SELECT id INTO found FROM events_eventtagset WHERE project_id = project AND digest = tag_digest;
        END IF;
        RETURN found;
    END $$;
    CREATE FUNCTION events_event_insert() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO events_rawevent (id, project_id, time, received_at, value, name_id, tagset_id, user_id,
                                     session_id, properties, environment, service, host, request_id, client_id)
        VALUES (NEW.id, NEW.project_id, NEW.time, NEW.received_at, NEW.value,
                events_name_id(NEW.project_id, NEW.name), events_tagset_id(NEW.project_id, NEW.tags),
                NEW.user_id, NEW.session_id, NEW.properties, NEW.environment, NEW.service, NEW.host,
                NEW.request_id, NEW.client_id);
        RETURN NEW;
    END $$;
    CREATE TRIGGER events_event_insert INSTEAD OF INSERT ON events_event
        FOR EACH ROW EXECUTE FUNCTION events_event_insert();
"""
DROP_VIEW = """
    DROP VIEW events_event;
    DROP FUNCTION events_event_insert();
    DROP FUNCTION events_name_id(bigint, text);
    DROP FUNCTION events_tagset_id(bigint, jsonb);
"""


def create_like(cursor: object, source: TimeSeriesTable, table: TimeSeriesTable) -> None:
    """Create `table` in the layout of `source`; on native partitions, with a partition for every day that
    `source` has one for or holds rows of, so that copied rows go straight to their day."""
    layout = table_layout(cursor, source.name)
    create_time_series_table(cursor, table, layout=layout, with_indexes=False)
    if layout == POSTGRES:
        days = set(partitions.list_partition_days(cursor, source))
        days |= set(partitions.days_waiting_in_default(cursor, source))
        if days:
            partitions.ensure_partitions(cursor, table, days, oldest_kept=min(days))


def encode(apps: object, schema_editor: object) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DICTIONARIES)
        cursor.execute(FILL_DICTIONARIES)
        create_like(cursor, WIDE_EVENTS_TABLE, ENCODED_EVENTS_TABLE)
        cursor.execute(ENCODE_ROWS)
        create_indexes(cursor, ENCODED_EVENTS_TABLE)  # after the load: one sorted build, pages packed
        cursor.execute("DROP TABLE events_event")
        cursor.execute(DECODING_VIEW)
        cursor.execute(ENCODING_TRIGGER)
        cursor.execute("ANALYZE events_rawevent, events_eventname, events_eventtagset")


def decode(apps: object, schema_editor: object) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(DROP_VIEW)
        create_like(cursor, ENCODED_EVENTS_TABLE, WIDE_EVENTS_TABLE)
        cursor.execute(DECODE_ROWS)
        create_indexes(cursor, WIDE_EVENTS_TABLE)
        cursor.execute("DROP TABLE events_rawevent, events_eventname, events_eventtagset")
        cursor.execute("ANALYZE events_event")


class Migration(migrations.Migration):
    dependencies = [("events", "0010_merge_20261206_1412")]

    operations = [
        migrations.RunPython(encode, decode),
        migrations.CreateModel(
            name="EventName",
            fields=[
                ("pk", models.CompositePrimaryKey("project_id", "id", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("project_id", models.BigIntegerField()),
                ("id", models.IntegerField()),
                ("name", models.TextField()),
            ],
            options={"db_table": "events_eventname", "managed": False},
        ),
        migrations.CreateModel(
            name="EventTagSet",
            fields=[
                ("pk", models.CompositePrimaryKey("project_id", "id", blank=True, editable=False, primary_key=True,
                                                  serialize=False)),
                ("project_id", models.BigIntegerField()),
                ("id", models.IntegerField()),
                ("digest", models.UUIDField()),
                ("tags", models.JSONField()),
            ],
            options={"db_table": "events_eventtagset", "managed": False},
        ),
    ]
