import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "flux.settings")

app = Celery("flux")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["flux", "flux.ingestion", "flux.tenants", "events", "metrics", "dashboards", "anomalies"])
