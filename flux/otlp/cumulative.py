"""Cumulative OTLP streams to increments: the last report of each stream is kept in CumulativeState.

Set-based: one locking read of the batch's streams and one upsert of their new states per request.
A report counts as a restart (its whole value is the increment) when the stream is new, its start time
changed, or its value went down; a repeated report (an exporter's retry) adds nothing.
"""

import json
from datetime import datetime

from django.db import connection
from django.db.backends.utils import CursorWrapper

from flux.otlp.convert import OtlpPoint
from flux.otlp.histograms import increment

LOAD_STATES = """
    SELECT stream, start_unix_nano, state FROM otlp_cumulativestate
    WHERE project_id = %s AND stream = ANY(%s) ORDER BY stream FOR UPDATE
"""
STORE_STATES = """
    INSERT INTO otlp_cumulativestate (project_id, stream, start_unix_nano, state, updated_at)
    SELECT %s, stream, start_unix_nano, state::jsonb, now()
    FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS i(stream, start_unix_nano, state)
    ORDER BY stream
    ON CONFLICT (project_id, stream) DO UPDATE
    SET start_unix_nano = EXCLUDED.start_unix_nano, state = EXCLUDED.state, updated_at = EXCLUDED.updated_at
"""


def advance_streams(cursor: CursorWrapper, project_id: int, points: list[OtlpPoint]) -> None:
    """Replace every cumulative point's value (or histogram counts) by its increment, and remember it."""
    cumulative = sorted((point for point in points if point.stream), key=lambda p: (p.stream, p.time_unix_nano))
    if not cumulative:
        return
    streams = sorted({point.stream for point in cumulative})
    cursor.execute(LOAD_STATES, [project_id, streams])
    last = {stream: (start, json.loads(state) if isinstance(state, str) else state) for stream, start, state in cursor}
    for point in cumulative:
        start, state = last.get(point.stream, (None, None))
        same_run = start == point.start_unix_nano
        if point.kind == "cumulative_counter":
            reported = point.value
            if same_run and state is not None and reported >= state["value"]:
                point.value = reported - state["value"]
            last[point.stream] = (point.start_unix_nano, {"value": reported})
        else:
            reported_histogram = point.histogram
            point.histogram = increment(state if same_run else None, reported_histogram)
            last[point.stream] = (point.start_unix_nano, reported_histogram)
        point.cumulative = False
    cursor.execute(
        STORE_STATES,
        [project_id, streams, [last[s][0] for s in streams], [json.dumps(last[s][1]) for s in streams]],
    )


def purge_stale_streams(older_than: datetime) -> int:
    """Delete stream states last updated before `older_than` (all projects: a maintenance sweep)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM otlp_cumulativestate WHERE updated_at < %s", [older_than])
        return cursor.rowcount
