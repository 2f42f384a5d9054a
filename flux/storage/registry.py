"""Which tables are what, in one place: the raw time-series tables that storage maintenance (partitions,
retention, compression) looks after, and, on Citus, which tables are distributed by project, which are
reference tables (a copy on every node) and which stay on the coordinator. A new table needs one line here
(flux/tests/test_keys.py fails until it has it)."""

from django.conf import settings
from django.utils.module_loading import import_string

from flux.storage.tables import TimeSeriesTable

TIME_SERIES_TABLES: tuple[TimeSeriesTable, ...] = tuple(map(import_string, settings.FLUX_TIME_SERIES_TABLES))

# Tables that grow with the data, every key led by project_id: on Citus, distributed by project_id and
# co-located (a project's rows of every table on the same node), so a project's queries and joins go to
# one node. The first is the one the others are co-located with.
DISTRIBUTED_TABLES: tuple[str, ...] = (
    "events_rawevent", "metrics_point", "events_eventname", "events_eventtagset",
    "events_eventrollup", "events_eventtagrollup", "metrics_metricrollup",
    "metrics_metricseries", "metrics_cardinalitylimithit", "ingestion_seenitemid", "otlp_cumulativestate",
    "anomalies_watch", "anomalies_anomaly", "anomalies_thresholdrule", "anomalies_delivery",
)  # fmt: skip

# Small tables read by id, token or name without a project at hand, or not per project at all: on Citus,
# reference tables, which the distributed ones may point at; they may keep single-column keys.
REFERENCE_TABLES: tuple[str, ...] = (
    # tenants, keys and users
    "tenants_project", "tenants_membership", "tenants_apikey",
    "auth_user", "auth_group", "auth_permission", "auth_group_permissions", "auth_user_groups",
    "auth_user_user_permissions", "axes_accessattempt", "axes_accessattemptexpiration", "axes_accessfailurelog",
    "axes_accesslog", "django_admin_log", "django_content_type", "django_migrations", "django_session",
    # the catalogue and per-project settings: a few rows per project
    "metrics_metric", "anomalies_channel", "anomalies_detectionsettings", "dashboards_dashboard",
    "dashboards_widget", "sharing_sharelink", "annotations_annotation", "events_savedview",
)  # fmt: skip

# Tables that stay on the Citus coordinator only (plain local tables), never joined to the others: the
# rollup job's watermarks, one row per stream, which each run locks FOR UPDATE for its whole run. A lock on
# a row of a reference table locks the whole table on every node, so the events and metrics runs (and
# every run's SKIP LOCKED) would wait for each other.
COORDINATOR_TABLES: tuple[str, ...] = ("events_rollupwatermark",)
