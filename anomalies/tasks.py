"""Thin Celery entry points of anomaly detection and notification (schedule: CELERY_BEAT_SCHEDULE)."""

from datetime import datetime

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from anomalies import cadence, delivery, early, maintenance, minutes, notifications, scan, thresholds, watches

SCAN_BATCH = 200  # watches per scan task: a few seconds of work, so workers share a big backlog
DISPATCH_LIMIT = 20_000


@shared_task
def dispatch_scans() -> int:
    """Watch new series, switch young ones that turned out busy to five minutes, then hand due watches to scan
    tasks in batches; returns how many are due."""
    now = timezone.now()
    watches.sync_watches(now)
    cadence.promote_young(now)
    due = scan.due_watch_ids(now, DISPATCH_LIMIT)
    for start in range(0, len(due), SCAN_BATCH):
        scan_watches.delay(due[start : start + SCAN_BATCH])
    return len(due)


@shared_task
def after_rollup(source: str) -> int:
    """Right after a rollup run of `source` commits: its due scans, early opens and minute checks read the
    minute it completed (anomalies.rollup_trigger); returns how many watches the checks judged."""
    now = timezone.now()
    due = scan.due_watch_ids(now, DISPATCH_LIMIT, source)
    for start in range(0, len(due), SCAN_BATCH):
        scan_watches.delay(due[start : start + SCAN_BATCH])
    peeked = early.peek_candidates(now, [source])
    for start in range(0, len(peeked), SCAN_BATCH):
        open_early.delay(peeked[start : start + SCAN_BATCH])
    result = minutes.check_minutes(now, [source])
    queue_notifications(result, now)
    return result.scanned


@shared_task
def scan_watches(watch_ids: list[int]) -> int:
    """Scan the given watches (those still due are claimed here) and queue the notifications of what changed."""
    now = timezone.now()
    result = scan.scan(watch_ids, now)
    queue_notifications(result, now)
    if result.waiting:  # the rollup run completing their bucket was still going: again in a few seconds
        scan_watches.apply_async((result.waiting,), countdown=cadence.RETRY_AFTER.total_seconds())
    return result.scanned


@shared_task
def open_early(watch_ids: list[int]) -> int:
    """Score the bucket in progress of busy count series whose count so far is high; notify what opened."""
    now = timezone.now()
    result = early.open_early(watch_ids, now)
    queue_notifications(result, now)
    return result.scanned


def queue_notifications(result: scan.ScanResult, now: datetime) -> None:
    """Queue each project's notices of what the scan changed (one project's failure never stops the others')."""
    if notifications.notify_each(result.changes, now):
        transaction.on_commit(lambda: deliver_notifications.delay())


@shared_task
def deliver_notifications() -> int:
    """Queue reminders of long anomalies and the notices of openings whose worker died before queuing them,
    then send every delivery that is due (retries included)."""
    now = timezone.now()
    notifications.announce_missed(now)
    notifications.queue_reminders(now)
    return delivery.deliver_due(now)


@shared_task
def purge_deliveries() -> int:
    """Trim the notification delivery log (FLUX_DELIVERY_LOG_DAYS)."""
    return maintenance.purge_deliveries(timezone.now())


@shared_task
def evaluate_thresholds() -> int:
    """Check every enabled threshold rule and queue the notifications of alerts opened or resolved."""
    changes = thresholds.evaluate_rules(timezone.now())
    if changes:
        transaction.on_commit(lambda: deliver_notifications.delay())
    return sum(len(items) for items in changes.values())
