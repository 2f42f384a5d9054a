"""The REST API: DRF, the OpenAPI schema, and CORS for browsers sending events."""

from flux.settings.env import env_list

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["flux.web.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["flux.web.auth.HasReadKey"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["flux.web.parsers.JSONBodyParser"],
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
so is one a read does not list (`tags.plan` for `tags[plan]`) or one given twice. With the database unreachable
every request answers `503` with `Retry-After`; retrying ingestion with the same item `id`s is always safe.

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
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "flux.web.openapi.closed.close_objects",
    ],
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

# Browsers may send events from these origins (with an ingest key); "*" allows any.
FLUX_CORS_ALLOWED_ORIGINS = env_list("FLUX_CORS_ALLOWED_ORIGINS", [])
CORS_URLS_REGEX = r"^/api/v1/(events|metrics|flux)(/batch)?$"
CORS_ALLOW_ALL_ORIGINS = FLUX_CORS_ALLOWED_ORIGINS == ["*"]
CORS_ALLOWED_ORIGINS = [] if CORS_ALLOW_ALL_ORIGINS else FLUX_CORS_ALLOWED_ORIGINS
CORS_ALLOW_METHODS = ["POST", "OPTIONS"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "content-encoding", "x-api-key"]
CORS_PREFLIGHT_MAX_AGE = 86400
