"""The raw time-series tables that storage maintenance (partitions, retention, compression) looks after.

The apps own the tables; settings name them (`FLUX_TIME_SERIES_TABLES`), so that storage imports no app."""

from django.conf import settings
from django.utils.module_loading import import_string

from flux.storage.tables import TimeSeriesTable

TIME_SERIES_TABLES: tuple[TimeSeriesTable, ...] = tuple(map(import_string, settings.FLUX_TIME_SERIES_TABLES))
