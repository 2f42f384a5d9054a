"""The minute checks run right after each rollup run commits, for the run's own source, and beat starts
the runs late enough in the minute that each completes the minute just ended."""

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from anomalies import tasks
from anomalies.rollup_trigger import CLOCK_MARGIN, ROLLUP_OFFSET, SETTLE
from anomalies.tests.factories import make_watch
from events.models import RollupWatermark
from events.rollups import STREAM as EVENTS
from events.rollups import roll_up_events
from flux.query.rollup_job import SAFETY_LAG
from flux.settings.beat import minute_at
from flux.tenants.models import Project
from metrics.rollups import STREAM as METRICS
from metrics.rollups import roll_up_metrics
from metrics.tests.factories import make_series

MINUTE = timedelta(minutes=1)


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch, db: None) -> list[str]:
    sources: list[str] = []
    monkeypatch.setattr(tasks.after_rollup, "delay", sources.append)
    now = datetime.now(UTC)
    for stream in (EVENTS, METRICS):
        RollupWatermark.objects.update_or_create(stream=stream, defaults={"watermark": now - MINUTE})
    return sources


def test_a_rollup_run_queues_the_checks_of_its_source_once_it_commits(
    queued: list[str], django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        roll_up_events(datetime.now(UTC) + MINUTE)
        assert queued == []  # not before the watermark the checks read is committed
    assert queued == ["events"]
    with django_capture_on_commit_callbacks(execute=True):
        roll_up_metrics(datetime.now(UTC) + MINUTE)
    assert queued == ["events", "metric"]


def test_a_broker_that_refuses_the_checks_never_fails_the_rollup_run(
    monkeypatch: pytest.MonkeyPatch, queued: list[str], django_capture_on_commit_callbacks: object
) -> None:
    def refuse(source: str) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(tasks.after_rollup, "delay", refuse)
    later = datetime.now(UTC) + MINUTE
    with django_capture_on_commit_callbacks(execute=True):
        run = roll_up_events(later)
    assert run.watermark == later - SAFETY_LAG
    assert RollupWatermark.objects.get(stream=EVENTS).watermark == later - SAFETY_LAG


def test_the_rollups_start_late_enough_in_the_minute_to_complete_it() -> None:
    for entry in ("roll-up-events", "roll-up-metrics"):
        assert settings.CELERY_BEAT_SCHEDULE[entry]["schedule"] == minute_at(ROLLUP_OFFSET)
        assert "countdown" not in settings.CELERY_BEAT_SCHEDULE[entry]["options"]  # held by no worker
    # A run started ROLLUP_OFFSET into a minute leaves a watermark SETTLE past the minute before it, with a
    # margin for clocks: without it, a run a moment early would complete the minute a minute late.
    assert timedelta(seconds=ROLLUP_OFFSET) - SAFETY_LAG - SETTLE >= CLOCK_MARGIN > timedelta(0)


def test_the_rollups_schedule_is_due_once_a_minute_at_its_second() -> None:
    schedule = minute_at(18)
    schedule.nowfun = lambda: datetime(2026, 12, 8, 10, 0, 17, 500_000, tzinfo=UTC)
    last = datetime(2026, 12, 8, 9, 59, 18, 200_000, tzinfo=UTC)
    assert schedule.is_due(last) == (False, 0.5)  # half a second before 10:00:18
    schedule.nowfun = lambda: datetime(2026, 12, 8, 10, 0, 18, 100_000, tzinfo=UTC)
    assert schedule.is_due(last) == (True, 59.9)  # due, and next at 10:01:18
    assert schedule.is_due(datetime(2026, 12, 8, 10, 0, 18, 100_000, tzinfo=UTC)) == (False, 59.9)  # just ran
    assert pickle.loads(pickle.dumps(schedule)) == schedule  # noqa: S301 - beat keeps its schedule on disk


def test_after_a_rollup_run_the_due_scans_of_its_source_are_handed_out(
    monkeypatch: pytest.MonkeyPatch, project: Project
) -> None:
    handed: list[list[int]] = []
    monkeypatch.setattr(tasks.scan_watches, "delay", handed.append)
    events = make_watch(project, "checkout.completed")
    make_watch(project, "queue.depth", series=make_series(project, "queue.depth", "gauge"), measure="avg")
    tasks.after_rollup("events")
    assert handed == [[events.pk]]  # the metric series waits for its own stream's run
