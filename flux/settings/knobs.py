"""Flux's own knobs: storage and retention, keys, ingestion limits, OpenTelemetry, cardinality, StatsD."""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from flux.settings.base import BASE_DIR
from flux.settings.env import env_bool, env_int, env_list, env_str

# Flux's own knobs.
FLUX_DATA_DIR = Path(env_str("FLUX_DATA_DIR", str(BASE_DIR / "var")))
FLUX_MASTER_KEY = env_str("FLUX_MASTER_KEY", "")
FLUX_STORAGE = env_str("FLUX_STORAGE", "auto")
if FLUX_STORAGE not in {"auto", "timescaledb", "postgres", "citus"}:
    raise ImproperlyConfigured("FLUX_STORAGE must be one of auto, timescaledb, postgres, citus")
# host:port of each Citus worker that `migrate` registers with the coordinator (DATABASE_URL) when it
# makes a new database a Citus database; empty when the cluster is set up by hand (docs/scaling.md).
FLUX_CITUS_WORKERS = env_list("FLUX_CITUS_WORKERS", [])
# The raw time-series tables (declared by their apps) that storage partitions, trims and compresses.
FLUX_TIME_SERIES_TABLES = ["events.sql.EVENTS_TABLE", "metrics.sql.POINTS_TABLE"]
FLUX_DEFAULT_RETENTION_DAYS = env_int("FLUX_DEFAULT_RETENTION_DAYS", 30, minimum=1)
FLUX_PARTITION_DAYS_AHEAD = env_int("FLUX_PARTITION_DAYS_AHEAD", 3)
FLUX_COMPRESS_AFTER_DAYS = env_int("FLUX_COMPRESS_AFTER_DAYS", 7)
# How long rollups live, per level; 0 keeps them forever, except minutes, which 0 keeps as long as raw
# data (the longest project retention): ranges inside raw retention are then always answered exactly.
FLUX_ROLLUP_RETENTION_DAYS = {
    "minute": env_int("FLUX_ROLLUP_MINUTE_DAYS", 0),
    "hour": env_int("FLUX_ROLLUP_HOUR_DAYS", 400),
    "day": env_int("FLUX_ROLLUP_DAY_DAYS", 0),
}
FLUX_DELIVERY_LOG_DAYS = env_int("FLUX_DELIVERY_LOG_DAYS", 30)  # anomaly notifications' delivery log
# Webhook and Slack channels may reach loopback and private addresses only when the operator says so
# (anomalies/egress.py); metadata and link-local addresses never.
FLUX_WEBHOOK_ALLOW_PRIVATE = env_bool("FLUX_WEBHOOK_ALLOW_PRIVATE", False)
FLUX_KEY_LAST_USED_EVERY_SECONDS = env_int("FLUX_KEY_LAST_USED_EVERY_SECONDS", 300)
# The most rows a CSV export (a widget's data, an events query) streams; the rest is left out and said so.
FLUX_CSV_MAX_ROWS = env_int("FLUX_CSV_MAX_ROWS", 100_000)
# Keys minted by SDK provisioning (two per call) that are never used this many days are revoked; 0 keeps them.
FLUX_PROVISIONED_KEY_UNUSED_DAYS = env_int("FLUX_PROVISIONED_KEY_UNUSED_DAYS", 7)
FLUX_KEY_CACHE_SECONDS = env_int("FLUX_KEY_CACHE_SECONDS", 10)

# Ingestion limits (README, "Sending data").
FLUX_MAX_BODY_BYTES = env_int("FLUX_MAX_BODY_BYTES", 5 * 1024 * 1024, minimum=1)
FLUX_MAX_BATCH_ITEMS = env_int("FLUX_MAX_BATCH_ITEMS", 1000, minimum=1)
FLUX_MAX_FUTURE_SECONDS = env_int("FLUX_MAX_FUTURE_SECONDS", 600)
FLUX_IDEMPOTENCY_DAYS = env_int("FLUX_IDEMPOTENCY_DAYS", 7)
# Ingestion is limited in items per project (all of an app's processes share the bucket), with a burst large
# enough for a normal app's spikes; reads and admin calls in requests per key. 0 disables either.
for retired in ("FLUX_RATE_LIMIT_PER_SECOND", "FLUX_RATE_LIMIT_BURST"):
    if os.environ.get(retired):  # said loudly: a limit silently ignored would surprise its operator
        raise ImproperlyConfigured(
            f"{retired} is gone: ingestion is limited in items per project (FLUX_INGEST_ITEMS_PER_SECOND, "
            "FLUX_INGEST_BURST_ITEMS) and reads in requests per key (FLUX_READ_REQUESTS_PER_SECOND, "
            "FLUX_READ_BURST_REQUESTS); see the README's settings"
        )
FLUX_INGEST_ITEMS_PER_SECOND = env_int("FLUX_INGEST_ITEMS_PER_SECOND", 5000)
FLUX_INGEST_BURST_ITEMS = env_int("FLUX_INGEST_BURST_ITEMS", 50000)
FLUX_READ_REQUESTS_PER_SECOND = env_int("FLUX_READ_REQUESTS_PER_SECOND", 50)
FLUX_READ_BURST_REQUESTS = env_int("FLUX_READ_BURST_REQUESTS", 300)
# New annotations per project and hour (a burst of that many): an ingest key, public in a page, may create them.
FLUX_ANNOTATIONS_PER_HOUR = env_int("FLUX_ANNOTATIONS_PER_HOUR", 120)
# A shared dashboard's data (public links) is kept this long and computed once at a time per project
# (flux.sharing.cache); 0 computes every request.
FLUX_SHARED_DATA_SECONDS = env_int("FLUX_SHARED_DATA_SECONDS", 30)
# The per-process Redis pool for rate limits and ingestion health: 0 sizes it from the worker threads
# (ASGI_THREADS); a request waits up to the timeout for a free connection before failing open.
FLUX_REDIS_MAX_CONNECTIONS = env_int("FLUX_REDIS_MAX_CONNECTIONS", 0)
FLUX_REDIS_POOL_TIMEOUT_SECONDS = env_int("FLUX_REDIS_POOL_TIMEOUT_SECONDS", 2)
# OpenTelemetry (README, "OpenTelemetry"): which resource and scope attributes become tags (data point
# attributes always do); per-instance ones such as process.pid or service.instance.id would make every
# restart a new series. Each histogram data point becomes at most this many distribution values.
FLUX_OTLP_RESOURCE_ATTRIBUTES = env_list(
    "FLUX_OTLP_RESOURCE_ATTRIBUTES",
    ["service.name", "service.namespace", "service.version", "deployment.environment",
     "deployment.environment.name", "host.name", "k8s.namespace.name", "cloud.region"],
)  # fmt: skip
FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM = env_int("FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM", 1000, minimum=1)
# Bounds the work (and memory) of one OTLP metrics request: more data points are refused (413); histograms'
# values are sampled further when their share of this budget is smaller than the limit above.
FLUX_OTLP_MAX_VALUES_PER_REQUEST = env_int("FLUX_OTLP_MAX_VALUES_PER_REQUEST", 100_000, minimum=1)
# Cardinality guardrails (README, "Cardinality limits"): within one metric, new series beyond the first
# limit, and new values of one tag key beyond the second, are folded into the value "__other__".
FLUX_MAX_SERIES_PER_METRIC = env_int("FLUX_MAX_SERIES_PER_METRIC", 1000)
FLUX_MAX_TAG_VALUES_PER_KEY = env_int("FLUX_MAX_TAG_VALUES_PER_KEY", 500)
# Ingestion bodies are read and limited by Flux itself (413 with the error envelope), not by Django.
DATA_UPLOAD_MAX_MEMORY_SIZE = None

# The StatsD/DogStatsD UDP listener (`python manage.py statsd`, in the Procfile): everything it receives is
# stored in the project of FLUX_STATSD_KEY (an ingest key), aggregated every FLUX_STATSD_FLUSH_SECONDS.
# Bind 0.0.0.0 in a container so other containers can reach it; 127.0.0.1 keeps it local.
# Where people open Flux (https://flux.example.com): notifications link each anomaly there; none without it.
FLUX_PUBLIC_URL = env_str("FLUX_PUBLIC_URL", "").rstrip("/")
FLUX_STATSD_HOST = env_str("FLUX_STATSD_HOST", "127.0.0.1")
FLUX_STATSD_PORT = env_int("FLUX_STATSD_PORT", 8125)
FLUX_STATSD_KEY = env_str("FLUX_STATSD_KEY", "")
FLUX_STATSD_FLUSH_SECONDS = env_int("FLUX_STATSD_FLUSH_SECONDS", 2)
# `-3|g`: a change (StatsD, the `statsd` package) or a value (DogStatsD: the `datadog` client sends -3 so).
FLUX_STATSD_SIGNED_GAUGES = env_str("FLUX_STATSD_SIGNED_GAUGES", "delta")
if FLUX_STATSD_SIGNED_GAUGES not in ("delta", "absolute"):
    raise ImproperlyConfigured(f"FLUX_STATSD_SIGNED_GAUGES is delta or absolute, not {FLUX_STATSD_SIGNED_GAUGES!r}")

# An open websocket checks again that its viewer may still see what it streams (a member removed, a share
# link revoked, a dashboard deleted) before passing a message on, at most this often: one query per socket.
FLUX_SOCKET_RECHECK_MS = env_int("FLUX_SOCKET_RECHECK_MS", 1000)
