"""Cumulative OTLP streams to increments: the last report of each stream is kept in CumulativeState.

Set-based: one locking read of the batch's streams and one upsert of their new states per request.
A stream is one run of one exporter: its start time is part of its identity (flux.otlp.convert.run_digest),
so a restart is a new stream. A new stream's first report is its whole value when the run began within
FIRST_REPORT_REACH of it (a process just started or restarted), and only its baseline otherwise (an app up
for days pointed at Flux, or silent past the states' purge: its lifetime's total is no increase); a value
that went down is a restart without a new start time (its whole value); a repeated report (an exporter's
retry) adds nothing.
"""

import json
from datetime import datetime

from django.db import connection
from django.db.backends.utils import CursorWrapper

from flux.otlp.convert import OtlpPoint
from flux.otlp.histograms import increment

FIRST_REPORT_REACH = 3600 * 10**9  # nanoseconds: longer than any exporter's interval and retries

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
        _, state = last.get(point.stream, (None, None))
        if state is None and not started_recently(point):
            state = {"value": point.value} if point.kind == "cumulative_counter" else point.histogram
        if point.kind == "cumulative_counter":
            reported = point.value
            if state is not None and reported >= state["value"]:
                point.value = reported - state["value"]
            last[point.stream] = (point.start_unix_nano, {"value": reported})
        else:
            reported_histogram = point.histogram
            point.histogram = increment(state, reported_histogram)
            last[point.stream] = (point.start_unix_nano, reported_histogram)
        point.cumulative = False
    cursor.execute(
        STORE_STATES,
        [project_id, streams, [last[s][0] for s in streams], [json.dumps(last[s][1]) for s in streams]],
    )


def started_recently(point: OtlpPoint) -> bool:
    return point.start_unix_nano > 0 and point.time_unix_nano - point.start_unix_nano <= FIRST_REPORT_REACH


def purge_stale_streams(older_than: datetime) -> int:
    """Delete stream states last updated before `older_than` (all projects: a maintenance sweep)."""
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM otlp_cumulativestate WHERE updated_at < %s", [older_than])
        return cursor.rowcount
