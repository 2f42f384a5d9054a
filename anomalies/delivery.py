"""Sending queued deliveries: claim one due row at a time, send it, record the outcome and, on failure, when
to try again. At least once: a worker that dies mid-send leaves its claim to expire, and the row is sent
again; receivers can drop repeats by X-Flux-Delivery.

Webhook signature: `X-Flux-Signature: sha256=<hex HMAC-SHA256 of "<X-Flux-Timestamp>.<raw body>">` keyed
with the channel's secret; see verify_signature() and docs/anomaly-notifications.md.
"""

import hashlib
import hmac
import json
import logging
import smtplib
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic

from django.conf import settings
from django.core.mail import get_connection, send_mail
from django.db import transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber

from anomalies import egress
from anomalies.models import Anomaly, Channel, Delivery
from anomalies.notifications import TEST, build_payload, sample_anomalies
from anomalies.services import RESOLVED

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd, ... failed attempt; the attempt after the last wait is the final one.
BACKOFF = (
    timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30), timedelta(hours=2),
)  # fmt: skip
MAX_ATTEMPTS = len(BACKOFF) + 1
TIMEOUT_SECONDS = 10
# A claimed row is due again after this long, in case its worker died; far longer than one send can take.
CLAIM_LEASE = timedelta(minutes=5)
# Due deliveries a worker tries to claim per call; past those (all held by other workers) it stops until
# the next run.
CLAIM_CANDIDATES = 20
# A redirect or a 4xx will not change by retrying (the URL or the payload is wrong), except these: the receiver
# timed out or is rate limiting. 5xx, timeouts and connection errors are retried.
RETRYABLE_CLIENT_ERRORS = {408, 425, 429}
USER_AGENT = "Flux-Webhook/1"
CHANNEL_DISABLED = "The channel was disabled; not sent."
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
PRINTED_NOT_SENT = "Printed to the worker's log, not sent: the server has no EMAIL_HOST."
REOPENED = "Its anomalies were reopened before it was sent; not sent."
# Test sends are never retried: one the worker finds pending was cut off mid-send (its web request died).
TEST_INTERRUPTED = "The test send was interrupted; test sends are never sent again."


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    permanent: bool = False


def deliver_due(now: datetime, limit: int = 100) -> int:
    """Send up to `limit` due deliveries, one claim at a time; returns how many were attempted."""
    # `now` is when the run began; a run of receivers timing out takes minutes, so each claim is timed by
    # how long the run has taken: a lease taken at `now` could be over before its row is sent (and another
    # worker send it too), and a retry due `now` plus its backoff would be due at once.
    started, claimed, attempted = monotonic(), 0, 0
    sent_per_project: Counter[int] = Counter()
    while claimed < limit:
        delivery = claim_next(now + seconds_since(started), sent_per_project)
        if delivery is None:
            break
        claimed += 1
        sent_per_project[delivery.project_id] += 1
        if refused := not_to_send(delivery):
            record(delivery, Outcome(False, error=refused, permanent=True), now + seconds_since(started))
            continue
        attempt(delivery, now + seconds_since(started))
        attempted += 1
    return attempted


def not_to_send(delivery: Delivery) -> str:
    """Why a claimed delivery fails for good without being sent, or ""."""
    if delivery.event == TEST:  # send_test records its one attempt; pending here, its request died mid-send
        return TEST_INTERRUPTED
    if not delivery.channel.enabled:  # disabled while this waited for a retry: it gets nothing more
        return CHANNEL_DISABLED
    if delivery.event == RESOLVED and not resolved_still(delivery):
        return REOPENED  # sent, it would close on the receiver an incident that is open again
    return ""


def resolved_still(delivery: Delivery) -> bool:
    """Whether any anomaly a resolved notice lists is still resolved, or gone (its threshold rule deleted)."""
    anomalies = Anomaly.objects.filter(project_id=delivery.project_id, pk__in=delivery.anomaly_ids)
    return anomalies.filter(status=Anomaly.Status.RESOLVED).exists() or anomalies.count() < len(delivery.anomaly_ids)


def seconds_since(start: float) -> timedelta:
    """Whole seconds elapsed since `start` (a monotonic() reading)."""
    return timedelta(seconds=int(monotonic() - start))


def claim_next(now: datetime, sent_per_project: Counter[int] | None = None) -> Delivery | None:
    """Take a due delivery for this worker, round robin over projects (the project this run has sent least
    for first, then the oldest), so that one project's many slow receivers do not hold back every other
    project's notices. Other workers skip the locked row and, once committed, see it pushed CLAIM_LEASE
    into the future, so no two workers send it at once."""
    sent = sent_per_project or Counter()
    due = Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
    in_its_project = Window(RowNumber(), partition_by=F("project_id"), order_by=[F("next_attempt_at"), F("pk")])
    oldest = due.annotate(place=in_its_project).filter(place__lte=CLAIM_CANDIDATES)
    rows = oldest.values_list("project_id", "pk", "next_attempt_at", "place")
    # Round robin: a project's n-th oldest goes after every project's (n - 1)-th, counting what this run sent.
    candidates = sorted(rows, key=lambda row: (sent[row[0]] + row[3], row[2], row[1]))[:CLAIM_CANDIDATES]
    # Each locked by project and id: on a distributed database a locking read must name its project (a FOR
    # UPDATE across every shard is refused).
    for project_id, pk, _, _ in candidates:
        with transaction.atomic():
            delivery = (
                due.select_for_update(skip_locked=True, of=("self",))
                .select_related("channel__project")
                .filter(project_id=project_id, pk=pk)
                .first()
            )
            if delivery is None:
                continue
            delivery.next_attempt_at = now + CLAIM_LEASE
            delivery.save(update_fields=["next_attempt_at"])
        return delivery
    return None


def attempt(delivery: Delivery, now: datetime, retry: bool = True) -> None:
    """Send a delivery claimed at `now` once and record the outcome, timed from when the send ended."""
    sending = monotonic()
    try:
        outcome = send(delivery)
    except Exception as error:  # a bug here must fail this delivery (logged), not leave it claimed forever
        logger.exception("Sending delivery %s failed unexpectedly", delivery.pk)
        outcome = Outcome(False, error=f"Internal error ({type(error).__name__}); it has been logged.")
    record(delivery, outcome, now + seconds_since(sending), retry)


def record(delivery: Delivery, outcome: Outcome, now: datetime, retry: bool = True) -> None:
    """Log the attempt: delivered, due again after the backoff, or failed for good."""
    claimed_until = delivery.next_attempt_at
    delivery.attempts += 1
    delivery.response_status = outcome.status
    delivery.last_error = outcome.error[:1000]  # on success, a note (an email printed rather than sent)
    if outcome.ok:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = Delivery.Status.DELIVERED, now, now
    else:
        if outcome.permanent or not retry or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = Delivery.Status.FAILED, now
        else:
            delivery.next_attempt_at = now + BACKOFF[delivery.attempts - 1]
    fields = ("attempts", "response_status", "status", "delivered_at", "next_attempt_at", "last_error")
    # Only while the claim is ours: if it expired and another worker took the row, its record wins.
    Delivery.objects.filter(
        project_id=delivery.project_id, pk=delivery.pk, status=Delivery.Status.PENDING, next_attempt_at=claimed_until
    ).update(**{field: getattr(delivery, field) for field in fields})


def send(delivery: Delivery) -> Outcome:
    """One attempt over the channel's transport; never raises for the receiver's failures."""
    channel = delivery.channel
    if channel.kind == Channel.Kind.EMAIL:
        return send_email(channel, delivery.payload)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if channel.kind == Channel.Kind.WEBHOOK:
        timestamp = str(int(time.time()))  # the wire time, which the receiver checks against its own clock
        headers |= {"X-Flux-Event": delivery.event, "X-Flux-Delivery": str(delivery.pk), "X-Flux-Timestamp": timestamp}
        if channel.secret:
            headers["X-Flux-Signature"] = sign(channel.secret, timestamp, body)
    return post(channel.target.strip(), body, headers)


def post(url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """POST the body to a checked address (anomalies.egress: no redirects, TIMEOUT_SECONDS) and say how it
    went: a status code and a fixed message, never the reply's body."""
    try:
        reply = egress.post(url, body, headers, TIMEOUT_SECONDS)
    except egress.RefusedTarget as refused:
        return Outcome(False, error=str(refused), permanent=True)
    status = reply.status
    if status is None:
        return Outcome(False, error=egress.CONNECTION_FAILED)
    if 200 <= status < 300:
        return Outcome(True, status)
    if 300 <= status < 400:
        return Outcome(False, status, f"HTTP {status}: redirects are not followed.", permanent=True)
    permanent = status < 500 and status not in RETRYABLE_CLIENT_ERRORS
    return Outcome(False, status, f"HTTP {status}: the receiver answered with an error.", permanent)


def send_email(channel: Channel, payload: dict) -> Outcome:
    """Mail the stored subject and body to the channel's comma-separated addresses."""
    recipients = [address.strip() for address in channel.target.split(",") if address.strip()]
    if not recipients:
        return Outcome(False, error="No email addresses.", permanent=True)
    try:
        connection = get_connection(timeout=TIMEOUT_SECONDS)
        send_mail(payload["subject"], payload["body"], settings.DEFAULT_FROM_EMAIL, recipients, connection=connection)
    except (smtplib.SMTPException, OSError) as error:
        return Outcome(False, error=f"{type(error).__name__}: {error}")
    if settings.EMAIL_BACKEND == CONSOLE_BACKEND:  # "Sent" would be a lie: nobody got it
        return Outcome(True, error=PRINTED_NOT_SENT)
    return Outcome(True)


def send_test(channel: Channel, now: datetime) -> Delivery:
    """Send a sample notification to the channel now (once, no retries) and return the logged delivery."""
    project = channel.project
    payload = build_payload(channel.kind, TEST, project, sample_anomalies(project, now), now)
    # Created already claimed, so deliver_due never picks it up while it is being sent here.
    delivery = Delivery.objects.create(
        project_id=channel.project_id, channel=channel, event=TEST, payload=payload, next_attempt_at=now + CLAIM_LEASE
    )
    # Timed from the row's created_at, not `now`: that was read before the row was saved, and a delivery
    # must not read as delivered before it was created.
    attempt(delivery, delivery.created_at, retry=False)
    delivery.refresh_from_db()
    return delivery


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Flux-Signature value: 'sha256=' and the hex HMAC-SHA256 of '<timestamp>.<body>'."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify_signature(secret: str, timestamp: str | int, body: bytes, header: str) -> bool:
    """Whether `header` is the signature of this timestamp and raw body (constant-time comparison)."""
    expected = sign(secret, str(timestamp), body)
    return hmac.compare_digest(expected.encode(), header.encode())
