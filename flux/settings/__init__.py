"""Flux settings, by noun; every knob an environment variable with a documented default (README).

DJANGO_SETTINGS_MODULE stays `flux.settings`: this module gathers the parts' settings. A part that needs
another's value (DEBUG, REDIS_URL, BASE_DIR) imports it from base; env holds the typed readers."""

from flux.settings.api import *  # noqa: F403
from flux.settings.base import *  # noqa: F403
from flux.settings.knobs import *  # noqa: F403
from flux.settings.security import *  # noqa: F403
from flux.settings.tasks import *  # noqa: F403
