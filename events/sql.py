"""Raw SQL of the events app: the raw events table, stored by flux.storage."""

from flux.storage.tables import RECEIVED_BRIN, TimeSeriesTable

EVENTS_TABLE = TimeSeriesTable(
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
    # No primary key: nothing refers to an event's row by key, and its index cost a fifth of the ingest work.
    # Lookups by id (one event, keyset pages) use the BRIN on id: ids are handed out in arrival order.
    # Indexes are ascending on time, so new rows land at the right end of their range and pages fill up
    # (a descending index splits its leftmost pages half-full); scans newest-first read them backwards.
    # No GIN on tags and no index on user_id: tag breakdowns and distinct users come from the rollups;
    # a raw filter on a tag or a user reads the project's or the name's time range through the btrees
    # (docs/storage.md, "Raw events": each of those two cost a quarter of the ingest rate or more).
    indexes=(
        ("project_name_time", "(project_id, name, time)"),
        ("project_time", "(project_id, time)"),
        ("id_brin", "USING brin (id) WITH (pages_per_range = 32, autosummarize = on)"),
        # Rollups find late arrivals by received_at; rows arrive in received_at order, so BRIN fits.
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, name",
    compress_order_by="time DESC, id DESC",
)
