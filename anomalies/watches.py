"""Which series are watched: every event name and metric series with data in the last day, each with
the measures of its type (anomalies.history.MEASURES). New watches are due at once, by the hour until
their first scan sees whether they are busy enough for five-minute buckets (anomalies.cadence)."""

from datetime import datetime, timedelta

from django.db import connection

from anomalies.history import MEASURES

ACTIVE_WITHIN = timedelta(days=1)

WATCH_EVENT_NAMES = """
    INSERT INTO anomalies_watch (project_id, source, name, series_id, measure, sensitivity, excluded,
                                 quiet_until_normal, history, carry, fitted, interval_seconds, next_scan_at, created_at)
    SELECT DISTINCT r.project_id, 'events', r.name, NULL::bigint, 'count', '', false, false,
                    ''::bytea, ''::bytea, ''::bytea, 3600, %(now)s, %(now)s
    FROM events_eventrollup r JOIN tenants_project p ON p.id = r.project_id AND NOT p.archived
    WHERE r.level = 'hour' AND r.bucket >= %(since)s
    ON CONFLICT DO NOTHING RETURNING 1
"""
WATCH_METRIC_SERIES = """
    INSERT INTO anomalies_watch (project_id, source, name, series_id, measure, sensitivity, excluded,
                                 quiet_until_normal, history, carry, fitted, interval_seconds, next_scan_at, created_at)
    SELECT s.project_id, 'metric', m.name, s.id, x.measure, '', false, false,
           ''::bytea, ''::bytea, ''::bytea, 3600, %(now)s, %(now)s
    FROM metrics_metricseries s
    JOIN metrics_metric m ON m.id = s.metric_id
    JOIN tenants_project p ON p.id = s.project_id AND NOT p.archived
    JOIN unnest(%(types)s::text[], %(measures)s::text[]) AS x(type, measure) ON x.type = m.type
    WHERE s.last_seen_at >= %(since)s
    ON CONFLICT DO NOTHING RETURNING 1
"""


def sync_watches(now: datetime) -> int:
    """Create the watches that are missing; returns how many were created. Safe to run concurrently."""
    pairs = [(kind, measure) for kind, measures in MEASURES.items() if kind != "events" for measure, *_ in measures]
    params = {
        "now": now, "since": now - ACTIVE_WITHIN,
        "types": [kind for kind, _ in pairs], "measures": [measure for _, measure in pairs],
    }  # fmt: skip
    # Counted from RETURNING, not rowcount: on Citus an INSERT … SELECT … ON CONFLICT DO NOTHING reports
    # the rows it selected, inserted or not.
    with connection.cursor() as cursor:
        cursor.execute(WATCH_EVENT_NAMES, params)
        created = len(cursor.fetchall())
        cursor.execute(WATCH_METRIC_SERIES, params)
        return created + len(cursor.fetchall())
