"""The raw events table as migrations created it, written out rather than imported from events.sql, so that
each migration keeps meaning what it meant. (The migration loader skips modules whose name starts with _.)"""

from flux.storage.tables import RECEIVED_BRIN, TimeSeriesTable

# 0001 to 0010: one wide table, names and tag sets inline (as 0009 left its indexes).
WIDE_EVENTS_TABLE = TimeSeriesTable(
    name="events_event",
    sequences=("events_event_id_seq",),
    columns="""
        id bigint NOT NULL DEFAULT nextval('events_event_id_seq'),
        project_id bigint NOT NULL,
        time timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        name text NOT NULL,
        user_id text,
        session_id text,
        value double precision,
        tags jsonb NOT NULL DEFAULT '{}'::jsonb,
        properties jsonb NOT NULL DEFAULT '{}'::jsonb,
        environment text,
        service text,
        host text,
        request_id text,
        client_id text
    """,
    indexes=(
        ("project_name_time", "(project_id, name, time)"),
        ("project_time", "(project_id, time)"),
        ("id_brin", "USING brin (id) WITH (pages_per_range = 32, autosummarize = on)"),
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, name",
    compress_order_by="time DESC, id DESC",
)

# 0011 on: names and tag sets dictionary-encoded; events_event is a view that decodes them.
ENCODED_EVENTS_TABLE = TimeSeriesTable(
    name="events_rawevent",
    sequences=("events_event_id_seq",),
    columns="""
        id bigint NOT NULL DEFAULT nextval('events_event_id_seq'),
        project_id bigint NOT NULL,
        time timestamptz NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        value double precision,
        name_id integer NOT NULL,
        tagset_id integer NOT NULL,
        user_id text,
        session_id text,
        properties jsonb NOT NULL DEFAULT '{}'::jsonb,
        environment text,
        service text,
        host text,
        request_id text,
        client_id text
    """,
    indexes=(
        ("name_time", "(name_id, time)"),
        ("project_time", "(project_id, time)"),
        ("id_brin", "USING brin (id) WITH (pages_per_range = 32, autosummarize = on)"),
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, name_id",
    compress_order_by="time DESC, id DESC",
    dictionaries=("events_eventname", "events_eventtagset"),
)
