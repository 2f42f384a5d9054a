"""Raw SQL of the metrics app: the narrow raw points table, stored by flux.storage."""

from flux.storage.tables import RECEIVED_BRIN, TimeSeriesTable

POINTS_TABLE = TimeSeriesTable(
    name="metrics_point",
    columns="""
        project_id bigint NOT NULL,
        series_id bigint NOT NULL,
        time timestamptz NOT NULL,
        value double precision NOT NULL,
        member text,
        received_at timestamptz NOT NULL DEFAULT now(),
        client_id text
    """,
    indexes=(
        ("series_time", "(series_id, time DESC)"),
        ("project_time", "(project_id, time DESC)"),
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, series_id",
)
