"""Flux settings: one file, every knob an environment variable with a documented default (README)."""

import os
import warnings
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from celery.schedules import crontab
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def pool_options() -> dict:
    # A short wait for a connection: with PostgreSQL down a request answers 503 (Retry-After) within
    # seconds instead of holding the client; connect_timeout bounds a connection attempt that hangs.
    connect = {"connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3)}
    max_size = env_int("DATABASE_POOL_MAX_SIZE", 8)
    if max_size <= 0:
        return connect
    return {"pool": {"min_size": 1, "max_size": max_size, "timeout": env_int("DATABASE_POOL_TIMEOUT", 3)}, **connect}


def database_from_url(url: str) -> dict:
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, got scheme {parts.scheme!r}")
    options = dict(parse_qsl(parts.query))
    host = parts.hostname or options.pop("host", "")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "flux",
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": host,
        "PORT": str(parts.port or ""),
        "OPTIONS": {**pool_options(), **options},
        # Under ASGI each request may run on a new thread, so Django's per-thread persistent connections
        # would pile up; a psycopg pool per process is the supported way to reuse connections.
        "CONN_MAX_AGE": 0,
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME", "") or None},
    }


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG and not env_bool("FLUX_ALLOW_INSECURE_SECRET", False):
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "flux-insecure-development-key"  # noqa: S105 - only with DEBUG or an explicit opt-in
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served locally by WhiteNoise (no CDN)
    "channels",
    "corsheaders",
    "axes",
    "flux.tenants",
    "flux.ingestion",
    "flux.otlp",
    "flux.mcp",
    "events",
    "metrics",
    "dashboards",
    "anomalies",
    "annotations",
    "sharing",
]

MIDDLEWARE = [
    # The web_only wrappers (flux/web/middleware.py) let /api/ requests skip what only pages need.
    "flux.web.middleware.security",
    "flux.web.middleware.static_files",
    "corsheaders.middleware.CorsMiddleware",
    "flux.web.middleware.api_headers",
    "flux.web.middleware.ApiGuard",
    "flux.web.middleware.sessions",
    "flux.web.middleware.common",
    "flux.web.middleware.csrf",
    "flux.web.middleware.authentication",
    "flux.web.middleware.messages",
    "flux.web.middleware.clickjacking",
    "flux.web.middleware.content_security_policy",
    "flux.web.middleware.permissions_policy",
    "axes.middleware.AxesMiddleware",  # answers a locked-out login (async-capable; a no-op for the API)
]

# The admin looks for these middleware by their own dotted paths; they are present, wrapped by web_only.
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "flux.urls"
ASGI_APPLICATION = "flux.asgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": database_from_url(env_str("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/flux"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")
# Leads the Redis keys of rate limits and ingestion health, so that installations (or test runs) sharing
# one Redis database keep apart their counters for the same project ids.
FLUX_REDIS_KEY_PREFIX = env_str("FLUX_REDIS_KEY_PREFIX", "flux")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", "") or BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# `manage.py collectstatic` (the Docker image runs it) writes gzip-compressed copies with the content's hash in
# their names to STATIC_ROOT; pages then link those, which WhiteNoise serves compressed and cacheable for a
# year (a new version is a new name). Without that step (make run, the tests, DEBUG) pages link the plain
# names (manifest_strict off), served from the source folders: nothing has to be built to run Flux.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "flux.web.staticfiles.CompressedFingerprintedStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Before any collectstatic, STATIC_ROOT does not exist; that is the expected state, not worth a warning.
warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        # redis-py 8 times reads out after 5 s by default, which is exactly how long channels-redis blocks
        # waiting for a message: idle websockets would be torn down every 5 s. Reads may take longer here.
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30}],
            "prefix": env_str("FLUX_CHANNEL_PREFIX", "flux"),
        },
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["flux.web.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["flux.web.auth.HasReadKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "flux.web.api.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["flux.web.ratelimit.ReadRateThrottle"],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}

# The OpenAPI schema at /api/schema and Swagger UI at /api/docs (building blocks in flux/web/openapi/).
SPECTACULAR_SETTINGS = {
    "TITLE": "Flux API",
    "VERSION": "1",
    "DESCRIPTION": """Flux stores events and metrics per project and answers queries over them.

**Keys.** Send a project API key as `Authorization: Bearer <key>` or in the `X-API-Key` header. Keys are
**ingest** (send data), **read** (query) or **admin** (both, and changing dashboards); each operation says
which it needs. A missing,
unknown or revoked key is a `401`; a key of the wrong kind, or of an archived project, a `403`.

**Errors** all have one shape: `{"error": {"code": "…", "message": "…", "details": …}}` (`details` only when
there is more to say). A bad query parameter is a `400` `invalid_parameter` whose `details.parameter` names it, and
so is one a read does not list (`tags.plan` for `tags[plan]`). With the database unreachable every request
answers `503` with `Retry-After`; retrying ingestion with the same item `id`s is always safe.

**Time ranges** (every read): `from`/`to` or `period`, in the project's time zone unless `timezone` says
otherwise; the default is the last 24 hours. Times must lie between 1970-01-01 and 2200-01-01 UTC.""",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SORT_OPERATION_PARAMETERS": False,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "ENUM_NAME_OVERRIDES": {
        "AnomalyKindEnum": ["spike", "drop", "level_shift", "flatline", "trend_change", "threshold"],
        "ChannelKindEnum": ["webhook", "slack", "email"],
        "RejectionKindEnum": ["event", "metric", "request"],
        "AnomalyStatusEnum": ["open", "acknowledged", "resolved"],
        "DeliveryStatusEnum": ["pending", "delivered", "failed"],
        "KeyKindEnum": ["ingest", "read", "admin"],
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Flux's own pages also call the API with the session (flux.web.auth); that is not for programs.
    "AUTHENTICATION_WHITELIST": ["flux.web.auth.ApiKeyAuthentication"],
    "TAGS": [
        {"name": "Ingestion", "description": "Send events and metric points (ingest key)."},
        {"name": "Events", "description": "Query events (read key)."},
        {"name": "Metrics", "description": "Query metrics (read key)."},
        {"name": "Dashboards", "description": "Dashboards and their widgets as code (read key; admin key to change)."},
        {"name": "Annotations", "description": "Deploys and campaigns drawn on graphs (ingest key to add)."},
        {"name": "Projects", "description": "The key's project, its keys and members; provisioning."},
    ],
}

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Each kind of background work has its own queue and worker (Procfile, docker-compose.yml), so that no
# kind can starve another: a long rollup run never delays anomaly scans, nor a scan backlog the alerts.
# Everything else (upkeep, exports) goes to the default queue, "celery".
CELERY_TASK_ROUTES = {
    "events.tasks.roll_up": {"queue": "rollups"},
    "metrics.tasks.roll_up": {"queue": "rollups"},
    "anomalies.tasks.dispatch_scans": {"queue": "scans"},
    "anomalies.tasks.scan_watches": {"queue": "scans"},
    "anomalies.tasks.after_rollup": {"queue": "scans"},
    "anomalies.tasks.evaluate_thresholds": {"queue": "alerts"},
    "anomalies.tasks.deliver_notifications": {"queue": "alerts"},
}
CELERY_BEAT_SCHEDULE = {
    # Every minute: queries read rollups up to the watermark and raw rows after it, so a slow or
    # skipped run costs query speed, never correctness. A run finding another under way skips. Started
    # 15 seconds into the minute, so that each run completes the minute just ended and the anomaly minute
    # checks it queues read it at once (anomalies.rollup_trigger.ROLLUP_OFFSET).
    "roll-up-events": {
        "task": "events.tasks.roll_up",
        "schedule": crontab(),
        "options": {"expires": 55, "countdown": 15},
    },
    "roll-up-metrics": {
        "task": "metrics.tasks.roll_up",
        "schedule": crontab(),
        "options": {"expires": 55, "countdown": 15},
    },
    # Every minute: new series get watched and due ones (busy series every five minutes, sparse ones once
    # an hour, each a minute or two after its bucket's rollups) are scanned in batches by the workers;
    # notifications and their retries go out.
    "dispatch-anomaly-scans": {
        "task": "anomalies.tasks.dispatch_scans",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # Every minute: threshold rules compare their trailing window's aggregate (rollups plus raw edges).
    "evaluate-threshold-alerts": {
        "task": "anomalies.tasks.evaluate_thresholds",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    "deliver-notifications": {
        "task": "anomalies.tasks.deliver_notifications",
        "schedule": crontab(),
        "options": {"expires": 55},
    },
    # Hourly, so partitions for the next days always exist well before data arrives for them.
    "ensure-partitions": {
        "task": "flux.tasks.ensure_partitions",
        "schedule": crontab(minute=5),
        "options": {"expires": 55 * 60},
    },
    # Daily: revoke keys minted by SDK provisioning and never used (FLUX_PROVISIONED_KEY_UNUSED_DAYS).
    "revoke-unused-provisioned-keys": {
        "task": "flux.tenants.tasks.revoke_unused_provisioned_keys",
        "schedule": crontab(minute=23, hour=2),
        "options": {"expires": 6 * 3600},
    },
    # Daily: forget client item ids older than FLUX_IDEMPOTENCY_DAYS.
    "purge-seen-ids": {
        "task": "flux.ingestion.tasks.purge_seen_ids",
        "schedule": crontab(minute=37, hour=2),
        "options": {"expires": 6 * 3600},
    },
    # Daily: forget OTLP cumulative streams not reported for FLUX_IDEMPOTENCY_DAYS.
    "purge-otlp-streams": {
        "task": "flux.otlp.tasks.purge_stale_streams",
        "schedule": crontab(minute=41, hour=2),
        "options": {"expires": 6 * 3600},
    },
    # Daily, off the hour: retention drops whole partitions/chunks, then trims shorter-lived projects
    # and expires rollups per level (FLUX_ROLLUP_*_DAYS).
    "apply-retention": {
        "task": "flux.tasks.apply_retention",
        "schedule": crontab(minute=17, hour=3),
        "options": {"expires": 6 * 3600},
    },
    # Daily: trim the anomaly notifications' delivery log (FLUX_DELIVERY_LOG_DAYS).
    "purge-deliveries": {
        "task": "anomalies.tasks.purge_deliveries",
        "schedule": crontab(minute=27, hour=3),
        "options": {"expires": 6 * 3600},
    },
    # Daily on TimescaleDB (a no-op on plain PostgreSQL): compress chunks past the compression age.
    "compress-chunks": {
        "task": "flux.tasks.compress_chunks",
        "schedule": crontab(minute=47, hour=3),
        "options": {"expires": 6 * 3600},
    },
}

# Email (anomaly notifications). Without EMAIL_HOST mail is printed by the worker instead of sent.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend",
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Flux <flux@localhost>")

# Login lockout (django-axes), for the app's login and the admin's alike: FLUX_LOGIN_FAILURE_LIMIT failed
# logins for one username from one IP address lock that pair out for FLUX_LOGIN_LOCKOUT_MINUTES (429), so
# a guesser cannot lock a user out from elsewhere. The address is REMOTE_ADDR only: X-Forwarded-For is
# the client's to invent (behind a proxy, uvicorn's --forwarded-allow-ips sets REMOTE_ADDR from it).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("FLUX_LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("FLUX_LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

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
FLUX_DEFAULT_RETENTION_DAYS = env_int("FLUX_DEFAULT_RETENTION_DAYS", 30)
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
FLUX_MAX_BODY_BYTES = env_int("FLUX_MAX_BODY_BYTES", 5 * 1024 * 1024)
FLUX_MAX_BATCH_ITEMS = env_int("FLUX_MAX_BATCH_ITEMS", 1000)
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
FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM = env_int("FLUX_OTLP_MAX_VALUES_PER_HISTOGRAM", 1000)
# Bounds the work (and memory) of one OTLP metrics request: more data points are refused (413); histograms'
# values are sampled further when their share of this budget is smaller than the limit above.
FLUX_OTLP_MAX_VALUES_PER_REQUEST = env_int("FLUX_OTLP_MAX_VALUES_PER_REQUEST", 100_000)
# Cardinality guardrails (README, "Cardinality limits"): within one metric, new series beyond the first
# limit, and new values of one tag key beyond the second, are folded into the value "__other__".
FLUX_MAX_SERIES_PER_METRIC = env_int("FLUX_MAX_SERIES_PER_METRIC", 1000)
FLUX_MAX_TAG_VALUES_PER_KEY = env_int("FLUX_MAX_TAG_VALUES_PER_KEY", 500)
# Ingestion bodies are read and limited by Flux itself (413 with the error envelope), not by Django.
DATA_UPLOAD_MAX_MEMORY_SIZE = None

# The StatsD/DogStatsD UDP listener (`python manage.py statsd`, in the Procfile): everything it receives is
# stored in the project of FLUX_STATSD_KEY (an ingest key), aggregated every FLUX_STATSD_FLUSH_SECONDS.
# Bind 0.0.0.0 in a container so other containers can reach it; 127.0.0.1 keeps it local.
FLUX_STATSD_HOST = env_str("FLUX_STATSD_HOST", "127.0.0.1")
FLUX_STATSD_PORT = env_int("FLUX_STATSD_PORT", 8125)
FLUX_STATSD_KEY = env_str("FLUX_STATSD_KEY", "")
FLUX_STATSD_FLUSH_SECONDS = env_int("FLUX_STATSD_FLUSH_SECONDS", 2)

# Browsers may send events from these origins (with an ingest key); "*" allows any.
FLUX_CORS_ALLOWED_ORIGINS = env_list("FLUX_CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/v1/(events|metrics|flux)(/batch)?$"
CORS_ALLOW_ALL_ORIGINS = FLUX_CORS_ALLOWED_ORIGINS == ["*"]
CORS_ALLOWED_ORIGINS = [] if CORS_ALLOW_ALL_ORIGINS else FLUX_CORS_ALLOWED_ORIGINS
CORS_ALLOW_METHODS = ["POST", "OPTIONS"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "content-encoding", "x-api-key"]
CORS_PREFLIGHT_MAX_AGE = 86400

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Security headers of the pages (README, "Security"). Django's SecurityMiddleware sends nosniff,
# Referrer-Policy: same-origin and Cross-Origin-Opener-Policy: same-origin; the clickjacking middleware
# X-Frame-Options: DENY. The policy below allows only Flux's own files: no inline scripts or <style> elements
# (page data comes in json_script blocks, which are not run), websockets to the same origin, data: images
# for ECharts' exports. API answers are JSON and skip these page-only headers (flux/web/middleware.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # Style attributes only (never <style> elements): ECharts writes them into its tooltips' HTML.
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
FLUX_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
