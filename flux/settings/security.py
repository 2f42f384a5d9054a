"""Login lockout (django-axes) and the pages' security headers."""

from datetime import timedelta

from csp.constants import NONE, SELF, UNSAFE_INLINE

from flux.settings.base import DEBUG
from flux.settings.env import env_bool, env_int

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
# Not verbose: its startup banner went to stderr in every manage.py command, between the backtest's
# notes; lockouts are still logged with their username and address.
AXES_VERBOSE = False

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

# Served over HTTPS (a TLS proxy in front, README "Behind an HTTPS proxy"): the session and CSRF cookies are
# then sent over HTTPS only, and HSTS is sent when asked for (a promise browsers keep: opt in knowingly).
FLUX_HTTPS = env_bool("FLUX_HTTPS", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = FLUX_HTTPS
SECURE_HSTS_SECONDS = env_int("FLUX_HSTS_SECONDS", 0)

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
