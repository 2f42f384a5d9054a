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
    # One btree, project first (the table can be distributed by project): every raw read of points joins
    # their series and covers minutes (the edges of rollups), which this serves for one series, one metric
    # or the whole project (bench/point_storage.py: a (project_id, time) index cost 32 bytes a point and
    # made no read faster). Rollup runs find new points by the BRIN on received_at.
    indexes=(
        ("series_time", "(project_id, series_id, time)"),
        ("received_brin", RECEIVED_BRIN),
    ),
    compress_segment_by="project_id, series_id",
)
