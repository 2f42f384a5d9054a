"""Reminders of ongoing anomalies: after renotify minutes, not twice within them, none once acknowledged."""

from anomalies import services
from anomalies.notifications import notify_changes, queue_reminders
from anomalies.tests.notifications.support import (
    HOUR,
    MINUTE,
    T0,
    anomalous,
    make_channel,
    open_anomaly,
)
from anomalies.thresholds import create_rule, update_rule, verdict_of
from flux.tenants.models import Project
from flux.tenants.services import set_archived


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


def test_an_archived_project_gets_no_reminders(project: Project) -> None:
    make_channel(project, renotify_minutes=60)
    notify_changes(project.pk, [open_anomaly(project)], T0)
    set_archived(project, True)
    assert queue_reminders(T0 + 2 * HOUR) == []


def test_no_reminders_once_nothing_watches_the_anomaly_any_more(project: Project) -> None:
    # Excluded from scans, detection turned off, a threshold rule disabled: nothing will ever resolve the
    # anomaly, which would otherwise be reminded of every hour for good.
    make_channel(project, renotify_minutes=60)
    changes = [open_anomaly(project, name) for name in ("excluded.series", "other.series")]
    rule = create_rule(project, {"source": "events", "name": "checkout.failed", "aggregation": "count",
                                 "comparator": ">", "threshold": 5.0, "duration_minutes": 10})  # fmt: skip
    changes.append(services.apply_verdict(rule.watch, verdict_of(rule, 9.0, T0), T0))
    notify_changes(project.pk, changes, T0)
    services.update_watch(changes[0][1].watch, {"excluded": True})
    update_rule(rule, {"enabled": False})
    [reminder] = queue_reminders(T0 + 2 * HOUR)
    assert reminder.anomaly_ids == [changes[1][1].pk]
    services.update_detection_settings(project, {"enabled": False})
    assert queue_reminders(T0 + 3 * HOUR) == []


def test_a_muted_series_open_anomaly_gets_no_reminders_until_the_mute_ends(project: Project) -> None:
    make_channel(project, renotify_minutes=60)
    _, anomaly = change = open_anomaly(project)
    notify_changes(project.pk, [change], T0)
    services.mute(anomaly.watch, T0 + 3 * HOUR)  # "Mute series… 3 hours" on the anomaly's page
    assert queue_reminders(T0 + 61 * MINUTE) == []
    assert queue_reminders(T0 + 121 * MINUTE) == []
    [reminder] = queue_reminders(T0 + 181 * MINUTE)
    assert reminder.anomaly_ids == [anomaly.pk]


def test_a_muted_series_escalation_is_told_once_the_mute_ends(project: Project) -> None:
    make_channel(project, min_severity="info")
    critical = make_channel(project, min_severity="critical")
    _, anomaly = change = open_anomaly(project, severity="info")
    notify_changes(project.pk, [change], T0)
    services.mute(anomaly.watch, T0 + 2 * HOUR)
    escalated = services.apply_verdict(anomaly.watch, anomalous(T0 + HOUR, "critical"), T0 + HOUR)
    assert notify_changes(project.pk, [escalated], T0 + HOUR) == []
    again = services.apply_verdict(anomaly.watch, anomalous(T0 + 3 * HOUR, "critical"), T0 + 3 * HOUR)
    [told] = notify_changes(project.pk, [again], T0 + 3 * HOUR)
    assert (told.channel_id, told.event, told.anomaly_ids) == (critical.pk, "opened", [anomaly.pk])
