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
    # `id` leads so that a lookup by id is one index probe per partition.
    primary_key="(id, time)",
    indexes=(
        ("project_name_time", "(project_id, name, time DESC)"),
        ("project_time", "(project_id, time DESC)"),
        ("project_user_time", "(project_id, user_id, time DESC) WHERE user_id IS NOT NULL"),
        # Tag equality filters are containment queries: tags @> '{"plan": "pro"}'.
        ("tags", "USING gin (tags jsonb_path_ops)"),
        # Rollups find late arrivals by received_at; rows arrive in received_at order, so BRIN fits.
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, name",
    compress_order_by="time DESC, id DESC",
)
