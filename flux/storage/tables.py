"""What a time-series table is made of, independent of how it is stored."""

from dataclasses import dataclass, field
from datetime import timedelta

# Rollups find rows received since their watermark through this index. Ranges are summarized as they
# fill (autosummarize), and unsummarized ranges are always scanned, so small ranges keep that cheap.
RECEIVED_BRIN = "USING brin (received_at) WITH (pages_per_range = 32, autosummarize = on)"


@dataclass(frozen=True)
class TimeSeriesTable:
    """A raw-data table partitioned by its `time` column (daily partitions or TimescaleDB chunks).

    `columns` must define `time timestamptz NOT NULL` and `project_id bigint NOT NULL`: the first is
    the partition key, the second is what retention and tenant scoping filter on.
    """

    name: str
    columns: str
    # Both storage paths require every unique index (and so the primary key) to include `time`.
    primary_key: str | None = None
    # (suffix, definition) pairs: `CREATE INDEX {name}_{suffix} ON {name} {definition}`.
    indexes: tuple[tuple[str, str], ...] = ()
    sequences: tuple[str, ...] = ()
    # TimescaleDB compression groups rows by these columns; queries filter on them.
    compress_segment_by: str = "project_id"
    # Columns of a unique key that are not segmented on must appear here (TimescaleDB refuses otherwise).
    compress_order_by: str = "time DESC"
    chunk_interval: timedelta = field(default=timedelta(days=1))
    # Tables that encode values of the rows per project (keyed by project_id): purged with the project.
    dictionaries: tuple[str, ...] = ()

    @property
    def default_partition(self) -> str:
        return f"{self.name}_default"

    def partition_name(self, day_stamp: str) -> str:
        return f"{self.name}_p{day_stamp}"

    def create_index_statements(self) -> list[str]:
        """On the parent: partitions and chunks get their own copies."""
        return [f"CREATE INDEX {self.name}_{suffix} ON {self.name} {definition}" for suffix, definition in self.indexes]
