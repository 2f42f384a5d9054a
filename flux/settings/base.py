"""Django itself: debug and secrets, apps, middleware, templates, database and Redis, static files, channel
layers, email, login and logging."""

import warnings
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from flux.settings.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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
    "flux.sharing",
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

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
