"""Which channels hear of which anomalies: grouping one scan's changes, severities, escalations, resolutions,
opt-outs, disabled channels and other projects."""

import threading
from datetime import UTC, datetime

import pytest

import anomalies.notifications
from anomalies import services
from anomalies.delivery import deliver_due
from anomalies.models import Anomaly, Channel, Delivery
from anomalies.notifications import MISSED_AFTER, announce_missed, notify_changes, queue_reminders
from anomalies.tests.concurrency import Worker, backend_pid, wait_until_blocked_by
from anomalies.tests.factories import make_watch
from anomalies.tests.notifications.support import (
    HOUR,
    T0,
    Receiver,
    anomalous,
    make_channel,
    normal,
    open_anomaly,
)
from flux.tenants.models import Project


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


def test_a_channel_left_at_its_default_hears_of_an_anomaly_when_it_opens(project: Project) -> None:
    channel = Channel.objects.create(project=project, name="Ops", kind="webhook", target="http://127.0.0.1:9/unused")
    [delivery] = notify_changes(project.pk, [open_anomaly(project, severity="info")], T0)
    assert (delivery.channel_id, delivery.event) == (channel.pk, "opened")


def test_an_info_anomaly_does_not_reach_a_warning_channel(project: Project) -> None:
    warning = make_channel(project, min_severity="warning")
    info = make_channel(project, min_severity="info")
    deliveries = notify_changes(project.pk, [open_anomaly(project, severity="info")], T0)
    assert [d.channel_id for d in deliveries] == [info.pk]
    assert not Delivery.objects.filter(channel=warning).exists()


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


@pytest.mark.parametrize("how", ["excluded", "detection off"])
def test_an_anomaly_resolved_because_nothing_watches_it_any_more_is_told_of(project: Project, how: str) -> None:
    told = make_channel(project)
    watch = make_watch(project, "checkout.completed")
    notify_changes(project.pk, [services.apply_verdict(watch, anomalous(T0), T0)], T0)
    if how == "excluded":
        services.update_watch(watch, {"excluded": True})
    else:
        services.update_detection_settings(project, {"enabled": False})
    [anomaly] = Anomaly.objects.filter(watch=watch)
    [delivery] = Delivery.objects.filter(project=project, event="resolved")
    assert (delivery.channel_id, delivery.anomaly_ids, anomaly.status) == (told.pk, [anomaly.pk], "resolved")


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


def test_an_anomaly_opened_and_resolved_in_one_scan_tells_its_channels_of_both(project: Project) -> None:
    # A catch-up after an outage, or a surge that reached the rollups late: one scan opens the episode on
    # an older bucket and resolves it on the newest.
    channel = make_channel(project)
    watch = make_watch(project, "checkout.completed")
    opened = services.apply_verdict(watch, anomalous(T0), T0)
    resolved = services.apply_verdict(watch, normal(T0 + HOUR), T0 + HOUR)
    deliveries = notify_changes(project.pk, [opened, resolved], T0 + HOUR)
    assert [(d.channel_id, d.event, d.anomaly_ids) for d in deliveries] == [
        (channel.pk, "opened", [opened[1].pk]), (channel.pk, "resolved", [opened[1].pk]),
    ]  # fmt: skip


def test_an_anomaly_opened_and_updated_in_one_scan_is_listed_once(project: Project) -> None:
    make_channel(project)
    watch = make_watch(project, "checkout.completed")
    opened = services.apply_verdict(watch, anomalous(T0), T0)
    updated = services.apply_verdict(watch, anomalous(T0 + HOUR), T0 + HOUR)
    [delivery] = notify_changes(project.pk, [opened, updated], T0 + HOUR)
    assert delivery.anomaly_ids == [opened[1].pk] and len(delivery.payload["anomalies"]) == 1


def test_an_opening_notified_after_an_overlapping_scans_update_is_not_sent_twice(project: Project) -> None:
    # The minute checks open an episode; a scan on another worker updates it and notifies first (its batch
    # ended sooner): the channel is told then, and the minute checks' own notice of the opening adds nothing.
    channel = make_channel(project)
    watch = make_watch(project, "checkout.completed")
    opened = services.apply_verdict(watch, anomalous(T0), T0)
    updated = services.apply_verdict(watch, anomalous(T0 + HOUR), T0 + HOUR)
    [first] = notify_changes(project.pk, [updated], T0 + HOUR)
    assert (first.channel_id, first.event) == (channel.pk, "opened")
    assert notify_changes(project.pk, [opened], T0 + HOUR) == []


def test_an_opening_whose_notice_was_lost_is_announced_later_once(project: Project) -> None:
    warning = make_channel(project, min_severity="warning")
    _, lost = open_anomaly(project, "checkout.completed")  # its worker was killed before notifying
    told = open_anomaly(project, "user.signup")
    notify_changes(project.pk, [told], T0)
    open_anomaly(project, "page.viewed", severity="info")  # no channel wants it
    assert announce_missed(datetime.now(UTC)) == []  # its own scan may still be about to notify
    later = datetime.now(UTC) + MISSED_AFTER  # anomalies are created on the wall clock
    [delivery] = announce_missed(later)
    assert (delivery.channel_id, delivery.event, delivery.anomaly_ids) == (warning.pk, "opened", [lost.pk])
    assert announce_missed(later) == []


@pytest.mark.django_db(transaction=True)
def test_a_project_deleted_while_its_channels_are_told_of_an_opening_waits_and_never_deadlocks(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flux.celery import app as celery_app
    from flux.tenants.services import delete_project

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)  # the raw data's purge, after commit
    make_channel(project)
    opened = open_anomaly(project)
    channels_locked, notice_goes_on, notice_session = threading.Event(), threading.Event(), []
    read_log = anomalies.notifications.told_pairs

    def pausing_with_the_channels_locked(*args: object, **kwargs: object) -> set:
        if threading.current_thread() is notice:
            notice_session.append(backend_pid())
            channels_locked.set()
            notice_goes_on.wait(30)
        return read_log(*args, **kwargs)

    monkeypatch.setattr(anomalies.notifications, "told_pairs", pausing_with_the_channels_locked)
    notice = Worker(lambda: notify_changes(project.pk, [opened], T0))
    notice.start()
    assert channels_locked.wait(30)
    deletion = Worker(lambda: delete_project(project))
    deletion.start()
    wait_until_blocked_by(notice_session[0])  # the deletion now waits for the notice
    notice_goes_on.set()
    assert len(notice.outcome()) == 1
    deletion.outcome()
    assert not Project.objects.filter(pk=project.pk).exists()
