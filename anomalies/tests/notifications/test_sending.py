"""Sending to a real HTTP receiver on 127.0.0.1: the signature, retries with backoff, failure, claims and
concurrent workers, test sends."""

import socket
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from anomalies import services
from anomalies.delivery import (
    BACKOFF,
    CHANNEL_DISABLED,
    CLAIM_LEASE,
    REOPENED,
    TEST_INTERRUPTED,
    claim_next,
    deliver_due,
    send_test,
    sign,
    verify_signature,
)
from anomalies.egress import CONNECTION_FAILED
from anomalies.models import Anomaly, Channel, Delivery
from anomalies.notifications import notify_changes
from anomalies.queries import list_deliveries
from anomalies.tests.notifications.support import (
    HOUR,
    HTTP_500,
    MINUTE,
    SECRET,
    T0,
    Receiver,
    make_channel,
    queue_one_webhook,
)
from flux.tenants.models import Project


@pytest.fixture(autouse=True)
def sending_takes_no_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times are stored as the run's `now` plus the whole seconds it took: a send that stalled a second on a
    loaded machine booked its retry a second late. Tests that time a slow run pin the clock themselves."""
    monkeypatch.setattr("anomalies.delivery.monotonic", lambda: 0.0)


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


def test_one_projects_backlog_does_not_hold_back_another_projects_notices(
    project: Project, other_project: Project, receiver: Receiver
) -> None:
    busy, quiet = make_channel(project, target=receiver.url), make_channel(other_project, target=receiver.url)
    backlog = Delivery.objects.bulk_create(
        Delivery(project=project, channel=busy, event="opened", payload={"n": n}, next_attempt_at=T0 - HOUR)
        for n in range(5)
    )
    waiting = Delivery.objects.create(
        project=other_project, channel=quiet, event="opened", payload={}, next_attempt_at=T0
    )
    assert deliver_due(T0, limit=2) == 2
    sent = [int(headers["X-Flux-Delivery"]) for headers, _ in receiver.requests]
    assert sent == [backlog[0].pk, waiting.pk]  # before: the busy project's two oldest


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


def test_a_test_send_is_delivered_after_it_was_created(project: Project, receiver: Receiver) -> None:
    # The view passes the request's start; the row's created_at is taken later, when it is saved.
    delivery = send_test(make_channel(project, target=receiver.url), T0)
    assert delivery.status == "delivered" and delivery.delivered_at >= delivery.created_at


def test_a_failing_test_send_is_not_retried(project: Project, receiver: Receiver) -> None:
    receiver.statuses = [500]
    delivery = send_test(make_channel(project, target=receiver.url), T0)
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 1, HTTP_500)
    assert deliver_due(T0 + 3 * HOUR) == 0


def test_a_test_send_whose_request_died_mid_send_is_never_sent_again(
    project: Project, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    def killed(*args: object) -> None:
        raise SystemExit(1)  # a web server's worker timeout ends the request with SystemExit

    channel = make_channel(project, target=receiver.url)
    with monkeypatch.context() as patch:
        patch.setattr("anomalies.delivery.send", killed)
        with pytest.raises(SystemExit):
            send_test(channel, T0)
    assert deliver_due(T0 + CLAIM_LEASE + HOUR) == 0  # before: claimed once its lease ended, and sent
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.last_error, receiver.requests) == ("failed", TEST_INTERRUPTED, [])


def test_a_slow_run_times_each_retry_from_its_own_failure(
    project: Project, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = make_channel(project, target=receiver.url)
    Delivery.objects.bulk_create(
        Delivery(project=project, channel=channel, event="opened", payload={"n": n}, next_attempt_at=T0)
        for n in range(20)
    )
    receiver.statuses = [500] * 20
    # Each send takes 20 seconds (a receiver timing out): the run's twentieth fails 400 seconds after it began,
    # past the claim lease of the ones it claimed last.
    monkeypatch.setattr("anomalies.delivery.monotonic", lambda: 20.0 * len(receiver.requests))
    assert deliver_due(T0, limit=20) == 20
    failed_at = [T0 + n * 20 * timedelta(seconds=1) for n in range(1, 21)]
    retries = sorted(Delivery.objects.values_list("next_attempt_at", flat=True))
    assert retries == [moment + BACKOFF[0] for moment in failed_at]  # not all at T0 + 30 s, long past


def test_a_channel_disabled_while_a_delivery_waits_for_its_retry_gets_nothing_more(
    project: Project, receiver: Receiver
) -> None:
    receiver.statuses = [500]
    delivery = queue_one_webhook(project, receiver.url)
    deliver_due(T0)
    Channel.objects.filter(pk=delivery.channel_id).update(enabled=False)  # its receiver is being fixed
    assert deliver_due(T0 + HOUR) == 0
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_error, len(receiver.requests)) == ("failed", CHANNEL_DISABLED, 1)


def test_a_resolved_notice_still_queued_when_its_anomaly_is_reopened_is_not_sent(
    project: Project, receiver: Receiver
) -> None:
    """Resolved by hand, reopened a second later: the notice then went out, and the receiver closed an open
    incident."""
    opened = queue_one_webhook(project, receiver.url)
    deliver_due(T0)
    anomaly = Anomaly.objects.get(pk=opened.anomaly_ids[0])
    [resolved] = notify_changes(project.pk, [("resolved", services.resolve(anomaly, "alice"))], T0 + MINUTE)
    services.reopen(anomaly, "alice")
    assert deliver_due(T0 + 2 * MINUTE) == 0
    resolved.refresh_from_db()
    assert (resolved.status, resolved.last_error, len(receiver.requests)) == ("failed", REOPENED, 1)


def test_a_channels_delivery_log_is_read_within_its_project(project: Project) -> None:
    # Deliveries are distributed by project: a read without it would ask every shard.
    channel = make_channel(project)
    send_test(channel, T0)
    with CaptureQueriesContext(connections["default"]) as queries:
        [logged] = list_deliveries(channel, 10)
    assert logged.event == "test"
    [read] = [query["sql"] for query in queries.captured_queries if "anomalies_delivery" in query["sql"]]
    assert '"anomalies_delivery"."project_id" =' in read
