"""Raw SQL of the events app: the raw events table (stored by flux.storage) and its dictionaries.

Raw events are stored dictionary-encoded (docs/storage.md, "Raw events"): `events_rawevent` carries the
ids of its name and of its tag set, which `events_eventname` and `events_eventtagset` hold once per
project. The view `events_event` decodes them: it has the columns a raw event always had, so reads that
are not on a hot path (the explorer, exports, ad-hoc SQL) read it, and an INSERT or COPY into it encodes
the row (a trigger; slow, for tests and hand-written SQL). Ingestion COPYs encoded rows into the table.
"""

from flux.storage.tables import RECEIVED_BRIN, TimeSeriesTable

EVENTS_TABLE = TimeSeriesTable(
    name="events_rawevent",
    sequences=("events_event_id_seq",),
    # Fixed-width columns first, widest first, so no byte of a row goes to alignment padding.
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
    # No primary key: nothing refers to an event's row by key, and its index cost a fifth of the ingest work.
    # Lookups by id (one event, keyset pages) use the BRIN on id: ids are handed out in arrival order.
    # Indexes are ascending on time, so new rows land at the right end of their range and pages fill up.
    # Name ids are unique across projects, so (name_id, time) finds a project's name without project_id;
    # and its entries are 28 bytes, the width up to which PostgreSQL fills a page before splitting it when
    # rows arrive in time order within each name (wider entries split pages in half, and they stay so).
    # No GIN on tags and no index on user_id: tag breakdowns and distinct users come from the rollups;
    # a raw filter on a tag or a user reads the project's or the name's time range through the btrees
    # (docs/storage.md, "Raw events": each of those two cost a quarter of the ingest rate or more).
    indexes=(
        ("name_time", "(name_id, time)"),
        ("project_time", "(project_id, time)"),
        ("id_brin", "USING brin (id) WITH (pages_per_range = 32, autosummarize = on)"),
        # Rollups find late arrivals by received_at; rows arrive in received_at order, so BRIN fits.
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, name_id",
    compress_order_by="time DESC, id DESC",
    dictionaries=("events_eventname", "events_eventtagset"),
)

# The row of a raw event as ingestion writes it (events.ingest builds the lines after the three ids).
COPY_ENCODED_EVENTS = (
    "COPY events_rawevent (project_id, name_id, tagset_id, time, user_id, session_id, value, properties,"
    " environment, service, host, request_id, client_id) FROM STDIN"
)

# Insert-on-miss for both dictionaries in one round trip: the inserted entries come from RETURNING, the
# existing ones from the joins (the statement's snapshot does not see its own inserts). An entry that a
# concurrent transaction committed after this statement's snapshot is in neither: SELECT_ENTRIES finds it.
# Sorted, so that concurrent batches lock new entries in the same order. Tag sets are keyed by the digest
# of their canonical text (jsonb's), whatever key order or spacing they came with; the map returned is
# from the text as sent.
TAGSET_DIGEST = "md5({tags}::text)::uuid"
WANTED = f"""
    wanted_names(name) AS (SELECT DISTINCT unnest(%(names)s::text[])),
    wanted_sets AS (
        SELECT text, text::jsonb AS tags, {TAGSET_DIGEST.format(tags="text::jsonb")} AS digest
        FROM (SELECT DISTINCT unnest(%(tag_sets)s::text[])) AS sent(text)
    )"""
STORED = """
    SELECT 'name', n.name, n.id FROM events_eventname n JOIN wanted_names USING (name) WHERE n.project_id = %(project)s
    UNION ALL
    SELECT 'tags', w.text, t.id FROM events_eventtagset t JOIN wanted_sets w USING (digest)
    WHERE t.project_id = %(project)s"""
ENSURE_ENTRIES = f"""
    WITH {WANTED}, new_names AS (
        INSERT INTO events_eventname (project_id, name)
        SELECT %(project)s, name FROM wanted_names ORDER BY name
        ON CONFLICT (project_id, name) DO NOTHING
        RETURNING name, id
    ), new_sets AS (
        INSERT INTO events_eventtagset (project_id, digest, tags)
        SELECT DISTINCT ON (digest) %(project)s, digest, tags FROM wanted_sets ORDER BY digest
        ON CONFLICT (project_id, digest) DO NOTHING
        RETURNING digest, id
    )
    SELECT 'name', name, id FROM new_names
    UNION ALL
    SELECT 'tags', w.text, s.id FROM wanted_sets w JOIN new_sets s USING (digest)
    UNION ALL
    {STORED}
"""
SELECT_ENTRIES = f"WITH {WANTED} {STORED}"
