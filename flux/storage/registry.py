"""The raw time-series tables that storage maintenance (partitions, retention, compression) looks after."""

from events.sql import EVENTS_TABLE
from flux.storage.tables import TimeSeriesTable
from metrics.sql import POINTS_TABLE

TIME_SERIES_TABLES: tuple[TimeSeriesTable, ...] = (EVENTS_TABLE, POINTS_TABLE)
