import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, task_revoked

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")

# The packages whose `tasks` modules a worker imports at start (autodiscovery).
TASK_PACKAGES = (
    "flux.storage",
    "flux.ingestion",
    "flux.otlp",
    "flux.tenants",
    "events",
    "metrics",
    "dashboards",
    "anomalies",
)

app = Celery("flux")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(list(TASK_PACKAGES))


@task_prerun.connect
def note_start(task_id: str, **_: object) -> None:
    from flux.web import task_stats

    task_stats.started(task_id)


@task_postrun.connect
def count_run(task_id: str, task: object, **_: object) -> None:
    from flux.web import task_stats

    task_stats.finished(task_id, task.name)


@task_revoked.connect
def count_expired(request: object, expired: bool, **_: object) -> None:
    from flux.web import task_stats

    if expired:
        task_stats.record(request.task, "expired")
