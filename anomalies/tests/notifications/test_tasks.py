"""The beat tasks' notification step: each project's notices are queued on their own."""

from datetime import UTC, datetime

import pytest

from anomalies import notifications, tasks
from anomalies.models import Delivery
from anomalies.notifications import MISSED_AFTER
from anomalies.scan import ScanResult
from anomalies.tests.notifications.support import T0, make_channel, open_anomaly
from flux.tenants.models import Project


def break_notices_of(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make queuing this project's notices fail, as a bug would; other projects' notices go on as usual."""
    notify = notifications.notify_changes

    def broken_for_this_one(project_id: int, *args: object) -> list[Delivery]:
        if project_id == project.pk:
            raise RuntimeError("a bug in one project's notice")
        return notify(project_id, *args)

    monkeypatch.setattr(notifications, "notify_changes", broken_for_this_one)


def test_one_projects_failing_notice_is_logged_and_the_other_projects_are_still_notified(
    project: Project, other_project: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for each in (project, other_project):
        make_channel(each)
    result = ScanResult()
    for each in (project, other_project):
        result.changes[each.pk].append(open_anomaly(each))
    break_notices_of(project, monkeypatch)
    tasks.queue_notifications(result, T0)
    assert list(Delivery.objects.values_list("project_id", flat=True)) == [other_project.pk]
    assert f"project {project.pk}" in caplog.text


def test_one_projects_failing_missed_notice_does_not_stop_the_other_projects_missed_notices(
    project: Project, other_project: Project, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    for each in (project, other_project):
        make_channel(each)
        open_anomaly(each)  # its worker died before notifying
    break_notices_of(project, monkeypatch)
    later = datetime.now(UTC) + MISSED_AFTER  # anomalies are created on the wall clock
    assert [delivery.project_id for delivery in notifications.announce_missed(later)] == [other_project.pk]
    assert f"project {project.pk}" in caplog.text
