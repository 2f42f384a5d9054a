"""Notifications: which channels hear of which anomalies (routing, grouping, resolutions, reminders), and
sending them to a real HTTP receiver on 127.0.0.1 (signature, retries with backoff, failure, concurrency)."""

import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connections

from anomalies import services
from anomalies.delivery import BACKOFF, claim_next, deliver_due, send_test, sign, verify_signature
from anomalies.egress import CONNECTION_FAILED
from anomalies.models import Anomaly, Channel, Delivery
from anomalies.notifications import human_number, human_percent, notify_changes, queue_reminders
from anomalies.serializers import anomaly_json
from anomalies.services import Verdict
from anomalies.tests.factories import make_watch
from flux.tenants.models import Project

T0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
SECRET = "whsec-test-1"
HTTP_500 = "HTTP 500: the receiver answered with an error."  # the status only, never the reply's body


class Receiver:
    """What a webhook receiver got; answers with the scripted statuses in order, then 200."""

    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.server = server
        self.requests: list[tuple[Message, bytes]] = []
        self.statuses: list[int] = []
        self.secret = ""  # when set, requests whose signature does not verify get a 401
        self.delay = 0.0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/flux"

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


def signature_is_valid(secret: str, headers: Message, body: bytes) -> bool:
    """The receiver's check, written from the documented recipe rather than with Flux's own helper."""
    signed = headers["X-Flux-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers.get("X-Flux-Signature", ""))


class RecordingHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with receiver.lock:
            receiver.requests.append((self.headers, body))
            status = receiver.statuses.pop(0) if receiver.statuses else 200
        if receiver.secret and not signature_is_valid(receiver.secret, self.headers, body):
            status = 401
        time.sleep(receiver.delay)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(autouse=True)
def _receivers_on_this_host_allowed(settings: object) -> None:
    """The receivers here listen on 127.0.0.1, which webhooks reach only with this operator setting."""
    settings.FLUX_WEBHOOK_ALLOW_PRIVATE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    server.receiver = Receiver(server)  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server.receiver  # type: ignore[attr-defined]
    server.shutdown()
    server.server_close()
    thread.join(5)


def make_channel(project: Project, kind: str = "webhook", **fields: object) -> Channel:
    fields.setdefault("target", "http://127.0.0.1:9/unused")
    fields.setdefault("min_severity", "info")
    return Channel.objects.create(project=project, name=f"{kind} channel", kind=kind, **fields)


def anomalous(bucket: datetime, severity: str = "warning") -> Verdict:
    return Verdict(
        bucket, 3600, True, 0.8, severity, kind="spike", direction="up", actual=1234.0, expected=310.0, lower=250.0,
        upper=380.0,
    )  # fmt: skip


def normal(bucket: datetime) -> Verdict:
    return Verdict(bucket, 3600, False, 0.1, "info", actual=300.0, expected=310.0, lower=250.0, upper=380.0)


def open_anomaly(project: Project, name: str = "checkout.completed", severity: str = "warning") -> tuple[str, Anomaly]:
    return services.apply_verdict(make_watch(project, name), anomalous(T0, severity), T0)


def queue_one_webhook(project: Project, url: str, **fields: object) -> Delivery:
    make_channel(project, target=url, **fields)
    [delivery] = notify_changes(project.pk, [open_anomaly(project)], T0)
    return delivery


# --- Sending ---


def test_the_receiver_verifies_the_webhook_signature_with_the_channel_secret(
    project: Project, receiver: Receiver
) -> None:
    receiver.secret = SECRET
    delivery = queue_one_webhook(project, receiver.url, secret=SECRET)
    assert deliver_due(T0) == 1
    [(headers, _)] = receiver.requests
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    assert (headers["X-Flux-Event"], headers["X-Flux-Delivery"]) == ("opened", str(delivery.pk))
    assert (headers["User-Agent"], headers["Content-Type"]) == ("Flux-Webhook/1", "application/json")


def test_a_signature_made_with_another_secret_is_refused_and_not_retried(project: Project, receiver: Receiver) -> None:
    receiver.secret = "the receiver's secret"
    delivery = queue_one_webhook(project, receiver.url, secret=SECRET)
    deliver_due(T0)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 1, 401)
    assert deliver_due(T0 + 3 * HOUR) == 0


def test_verify_signature_accepts_the_signed_body_only() -> None:
    body, timestamp = b'{"event":"opened"}', "1795000000"
    header = sign(SECRET, timestamp, body)
    assert verify_signature(SECRET, timestamp, body, header)
    assert not verify_signature(SECRET, timestamp, body + b" ", header)
    assert not verify_signature(SECRET, "1795000001", body, header)  # a replay with a fresh timestamp
    assert not verify_signature("another secret", timestamp, body, header)


def test_a_500_is_retried_after_the_backoff_until_it_succeeds(project: Project, receiver: Receiver) -> None:
    receiver.statuses = [500, 500]
    delivery = queue_one_webhook(project, receiver.url)
    deliver_due(T0)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert (delivery.last_error, delivery.next_attempt_at) == (HTTP_500, T0 + 30 * timedelta(seconds=1))
    assert deliver_due(T0 + timedelta(seconds=29)) == 0
    assert deliver_due(T0 + timedelta(seconds=30)) == 1
    assert deliver_due(T0 + timedelta(seconds=30) + 2 * MINUTE) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 3, 200)
    assert delivery.delivered_at == T0 + timedelta(seconds=30) + 2 * MINUTE
    assert {headers["X-Flux-Delivery"] for headers, _ in receiver.requests} == {str(delivery.pk)}
    assert len(receiver.requests) == 3


def test_a_delivery_fails_after_the_last_attempt(project: Project, receiver: Receiver) -> None:
    receiver.statuses = [503] * 10
    delivery = queue_one_webhook(project, receiver.url)
    moment = T0
    for wait in [timedelta(0), *BACKOFF]:
        moment += wait
        assert deliver_due(moment) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("failed", 6, 503)
    assert deliver_due(moment + 24 * HOUR) == 0
    assert len(receiver.requests) == 6


def test_an_unreachable_receiver_is_retried_later(project: Project) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    delivery = queue_one_webhook(project, f"http://127.0.0.1:{port}/")
    deliver_due(T0)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, None)
    assert delivery.last_error == CONNECTION_FAILED
    assert delivery.next_attempt_at == T0 + BACKOFF[0]


def test_a_claimed_delivery_is_not_claimed_again_while_it_is_being_sent(project: Project) -> None:
    delivery = queue_one_webhook(project, "http://127.0.0.1:9/")
    assert claim_next(T0).pk == delivery.pk
    assert claim_next(T0) is None


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_workers_never_send_one_delivery_twice(project: Project, receiver: Receiver) -> None:
    channel = make_channel(project, target=receiver.url)
    Delivery.objects.bulk_create(
        Delivery(project=project, channel=channel, event="opened", payload={"n": n}, next_attempt_at=T0)
        for n in range(20)
    )
    receiver.delay = 0.01  # each send takes a while, so the two workers overlap throughout
    start = threading.Barrier(2)

    def worker() -> None:
        try:
            start.wait()
            deliver_due(T0)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    sent_ids = [headers["X-Flux-Delivery"] for headers, _ in receiver.requests]
    assert len(sent_ids) == len(set(sent_ids)) == 20
    assert Delivery.objects.filter(status="delivered", attempts=1).count() == 20


def test_send_test_sends_a_sample_at_once_and_logs_the_outcome(project: Project, receiver: Receiver) -> None:
    channel = make_channel(project, target=receiver.url, secret=SECRET)
    receiver.secret = SECRET
    delivery = send_test(channel, T0)
    assert (delivery.event, delivery.status, delivery.attempts, delivery.response_status) == (
        "test", "delivered", 1, 200,
    )  # fmt: skip
    [body] = receiver.bodies()
    assert body["summary"] == "Test notification from Flux for Alice's shop: checkout.completed"
    assert body["anomalies"][0]["series"]["name"] == "checkout.completed"


def test_a_failing_test_send_is_not_retried(project: Project, receiver: Receiver) -> None:
    receiver.statuses = [500]
    delivery = send_test(make_channel(project, target=receiver.url), T0)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, HTTP_500)
    assert deliver_due(T0 + 3 * HOUR) == 0


# --- Payloads ---


def test_the_webhook_body_has_the_event_project_summary_and_anomalies(project: Project, receiver: Receiver) -> None:
    make_channel(project, target=receiver.url)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    deliver_due(T0)
    [body] = receiver.bodies()
    assert body == {
        "event": "opened",
        "project": {"slug": project.slug, "name": "Alice's shop"},
        "anomalies": [anomaly_json(Anomaly.objects.get(pk=anomaly.pk))],
        "summary": "1 anomaly opened in Alice's shop: checkout.completed",
        "sent_at": "2026-11-20T10:00:00Z",
    }


def test_slack_gets_the_summary_and_at_most_ten_lines(project: Project, receiver: Receiver) -> None:
    make_channel(project, kind="slack", target=receiver.url)
    notify_changes(project.pk, [open_anomaly(project, f"page.{n:02}") for n in range(12)], T0)
    deliver_due(T0)
    [(headers, _)] = receiver.requests
    [body] = receiver.bodies()
    assert body["text"] == "12 anomalies opened in Alice's shop: page.00, page.01, page.02 and 9 more"
    header, listing, _context = body["blocks"]
    assert header["text"] == {"type": "mrkdwn", "text": "*12 anomalies opened in Alice's shop*"}
    lines = listing["text"]["text"].split("\n")
    assert len(lines) == 11
    assert lines[0] == "• *page.00* spike up: 1,234 vs 310 expected (+298%), warning"
    assert lines[-1] == "…and 2 more"
    assert "X-Flux-Signature" not in headers


def test_email_goes_to_every_address_through_djangos_backend(
    project: Project, mailoutbox: list, settings: object
) -> None:
    settings.DEFAULT_FROM_EMAIL = "flux@example.com"
    make_channel(project, kind="email", target="ops@example.com, cto@example.com")
    notify_changes(project.pk, [open_anomaly(project)], T0)
    assert deliver_due(T0) == 1
    [message] = mailoutbox
    assert message.subject == "[Flux] 1 anomaly opened in Alice's shop"
    assert (message.from_email, message.to) == ("flux@example.com", ["ops@example.com", "cto@example.com"])
    line = "- checkout.completed: spike up: 1,234 vs 310 expected (+298%), warning, since 2026-11-20 10:00 UTC"
    assert line in message.body.splitlines()
    assert Delivery.objects.get().status == "delivered"


def test_numbers_are_human_friendly() -> None:
    assert [human_number(v) for v in (1234.4, 2_500_000, 12.345, 0.5, 7.0)] == [
        "1,234",
        "2,500,000",
        "12.3",
        "0.5",
        "7",
    ]
    assert [human_percent(v) for v in (23.4, -4.56, 1234.0)] == ["+23%", "-4.6%", "+1,234%"]


# --- Routing and grouping ---


def test_thirty_anomalies_opened_in_one_scan_send_one_webhook_listing_all(project: Project, receiver: Receiver) -> None:
    make_channel(project, target=receiver.url)
    changes = [open_anomaly(project, f"series.{n}") for n in range(30)]
    deliveries = notify_changes(project.pk, changes, T0)
    deliver_due(T0)
    assert len(deliveries) == 1 and len(receiver.requests) == 1
    [body] = receiver.bodies()
    assert sorted(a["id"] for a in body["anomalies"]) == sorted(a.pk for _, a in changes)
    assert body["summary"].startswith("30 anomalies opened in Alice's shop: ")


def test_notifying_a_scan_costs_the_same_few_queries_however_many_anomalies_changed(
    project: Project, django_assert_max_num_queries: object
) -> None:
    make_channel(project, kind="webhook")
    make_channel(project, kind="slack", min_severity="critical")
    watches = [make_watch(project, f"series.{n}") for n in range(30)]
    notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0, "warning"), T0) for watch in watches], T0)
    escalated = [services.apply_verdict(watch, anomalous(T0 + HOUR, "critical"), T0 + HOUR) for watch in watches]
    with django_assert_max_num_queries(7):
        [delivery] = notify_changes(project.pk, escalated, T0 + HOUR)
    assert (delivery.channel.kind, len(delivery.anomaly_ids)) == ("slack", 30)


def test_an_info_anomaly_does_not_reach_a_warning_channel(project: Project) -> None:
    warning = make_channel(project, min_severity="warning")
    info = make_channel(project, min_severity="info")
    deliveries = notify_changes(project.pk, [open_anomaly(project, severity="info")], T0)
    assert [d.channel_id for d in deliveries] == [info.pk]
    assert not Delivery.objects.filter(channel=warning).exists()


def test_a_channel_left_at_its_default_hears_of_an_anomaly_when_it_opens(project: Project) -> None:
    channel = Channel.objects.create(project=project, name="Ops", kind="webhook", target="http://127.0.0.1:9/unused")
    [delivery] = notify_changes(project.pk, [open_anomaly(project, severity="info")], T0)
    assert (delivery.channel_id, delivery.event) == (channel.pk, "opened")


def test_escalation_to_critical_reaches_a_critical_channel_once(project: Project) -> None:
    critical = make_channel(project, min_severity="critical")
    watch = make_watch(project, "checkout.completed")
    assert notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0, "info"), T0)], T0) == []
    escalated = services.apply_verdict(watch, anomalous(T0 + HOUR, "critical"), T0 + HOUR)
    [delivery] = notify_changes(project.pk, [escalated], T0 + HOUR)
    assert (delivery.channel_id, delivery.event, delivery.anomaly_ids) == (critical.pk, "opened", [escalated[1].pk])
    still_critical = services.apply_verdict(watch, anomalous(T0 + 2 * HOUR, "critical"), T0 + 2 * HOUR)
    assert notify_changes(project.pk, [still_critical], T0 + 2 * HOUR) == []


def test_an_ongoing_anomaly_that_stays_the_same_is_not_announced_again(project: Project) -> None:
    make_channel(project)
    watch = make_watch(project, "checkout.completed")
    notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0), T0)], T0)
    updated = services.apply_verdict(watch, anomalous(T0 + HOUR), T0 + HOUR)
    assert notify_changes(project.pk, [updated], T0 + HOUR) == []


def test_a_channel_added_mid_episode_hears_of_the_ongoing_anomaly_once(project: Project) -> None:
    watch = make_watch(project, "checkout.completed")
    notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0), T0)], T0)
    late = make_channel(project)
    [delivery] = notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0 + HOUR), T0)], T0 + HOUR)
    assert (delivery.channel_id, delivery.event) == (late.pk, "opened")
    assert notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0 + 2 * HOUR), T0)], T0) == []


def test_a_resolution_reaches_only_channels_told_of_the_opening(project: Project) -> None:
    told = make_channel(project, min_severity="warning")
    make_channel(project, min_severity="critical")
    watch = make_watch(project, "checkout.completed")
    notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0, "warning"), T0)], T0)
    resolved = services.apply_verdict(watch, normal(T0 + HOUR), T0 + HOUR)
    deliveries = notify_changes(project.pk, [resolved], T0 + HOUR)
    assert [(d.channel_id, d.event, d.anomaly_ids) for d in deliveries] == [(told.pk, "resolved", [resolved[1].pk])]


def test_a_resolution_is_not_sent_to_a_channel_that_opted_out(project: Project) -> None:
    make_channel(project, notify_resolved=False)
    watch = make_watch(project, "checkout.completed")
    notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0), T0)], T0)
    resolved = services.apply_verdict(watch, normal(T0 + HOUR), T0 + HOUR)
    assert notify_changes(project.pk, [resolved], T0 + HOUR) == []


def test_a_disabled_channel_gets_nothing(project: Project) -> None:
    make_channel(project, enabled=False, renotify_minutes=60)
    assert notify_changes(project.pk, [open_anomaly(project)], T0) == []
    assert queue_reminders(T0 + 2 * HOUR) == []
    assert not Delivery.objects.exists()


def test_channels_of_another_project_get_nothing(project: Project, other_project: Project) -> None:
    ours = make_channel(project, renotify_minutes=60)
    make_channel(other_project, renotify_minutes=60)
    notify_changes(project.pk, [open_anomaly(project)], T0)
    queue_reminders(T0 + 2 * HOUR)
    assert set(Delivery.objects.values_list("channel_id", flat=True)) == {ours.pk}


def test_anomalies_of_another_project_are_ignored(project: Project, other_project: Project) -> None:
    make_channel(other_project)
    assert notify_changes(other_project.pk, [open_anomaly(project)], T0) == []


def test_opening_notices_set_notified_at(project: Project) -> None:
    make_channel(project)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    assert Anomaly.objects.get(pk=anomaly.pk).notified_at == T0


# --- Reminders ---


def test_a_reminder_comes_after_renotify_minutes_and_not_twice_within_them(project: Project) -> None:
    channel = make_channel(project, renotify_minutes=60)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    assert queue_reminders(T0 + 59 * MINUTE) == []
    [reminder] = queue_reminders(T0 + 61 * MINUTE)
    assert (reminder.channel_id, reminder.event, reminder.anomaly_ids) == (channel.pk, "reminder", [anomaly.pk])
    assert queue_reminders(T0 + 62 * MINUTE) == []
    assert queue_reminders(T0 + 119 * MINUTE) == []
    assert len(queue_reminders(T0 + 121 * MINUTE)) == 1


def test_acknowledged_anomalies_get_no_reminders(project: Project) -> None:
    make_channel(project, renotify_minutes=60)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    services.acknowledge(anomaly, "alice")
    assert queue_reminders(T0 + 2 * HOUR) == []


def test_a_short_reminder_interval_does_not_starve_a_longer_one(project: Project) -> None:
    hourly = make_channel(project, renotify_minutes=60)
    four_hourly = make_channel(project, renotify_minutes=240)
    notify_changes(project.pk, [open_anomaly(project)], T0)
    reminders = [d for n in range(1, 10) for d in queue_reminders(T0 + n * 30 * MINUTE)]  # until 4h30
    assert sorted(d.channel_id for d in reminders) == [hourly.pk] * 4 + [four_hourly.pk]
