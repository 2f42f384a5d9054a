"""Celery: the broker, one queue per kind of background work, and the beat schedule."""

from celery.schedules import crontab

from flux.settings.base import REDIS_URL
from flux.settings.beat import minute_at

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
    # skipped run costs query speed, never correctness. A run finding another under way skips. Sent
    # 18 seconds into the minute, so that each run completes the minute just ended and the anomaly minute
    # checks it queues read it at once (anomalies.rollup_trigger.ROLLUP_OFFSET); sent then, not held by a
    # worker with a countdown (flux.settings.beat).
    "roll-up-events": {
        "task": "events.tasks.roll_up",
        "schedule": minute_at(18),
        "options": {"expires": 40},
    },
    "roll-up-metrics": {
        "task": "metrics.tasks.roll_up",
        "schedule": minute_at(18),
        "options": {"expires": 40},
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
