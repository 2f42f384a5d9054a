"""What a scan does with the state a watch stores between scans (anomalies.carry) when it cannot continue it:
state cut short or corrupt, or computed by another detector version (an upgrade). It rebuilds it from the
watch's cached history, logged with the watch's id, and never fails the watch or its batch."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import numpy as np
import pytest

from anomalies import carry
from anomalies.carry import pack_fits, stored_version, unpack
from anomalies.detection import (
    DETECTOR_VERSION,
    Carry,
    DetectorConfig,
    FitCache,
    calibration,
    robust,
    score_incremental,
    score_latest,
)
from anomalies.early import peek_candidates
from anomalies.minutes import check_minutes
from anomalies.models import Anomaly, Watch
from anomalies.scan import cached_values, due_watch_ids, scan
from anomalies.tests.test_cadence import END as BUSY_END
from anomalies.tests.test_cadence import MINUTE, add_events, busy_and_sparse, roll_up, set_watermark
from anomalies.tests.test_cadence import NOW as BUSY_NOW
from anomalies.tests.test_scan import END, HOUR, NOW, add_hour, daily_count, quiet_weeks, roll_up_to, scan_at
from anomalies.watches import sync_watches
from flux.tenants.models import Project

__all__ = ["busy_and_sparse", "quiet_weeks"]  # the fixtures, shared with test_cadence and test_scan


@pytest.fixture
def two_names(quiet_weeks: Project) -> Project:
    """The quiet signups, and orders alike, both scanned for the hours before END and END (each with its
    carry and fits stored: those of the two-hour block [END, END + 2 h), whose next hour the tests scan)."""
    hour = END - 35 * 24 * HOUR
    while hour < END:
        add_hour(quiet_weeks, hour, daily_count(hour), name="order.placed")
        hour += HOUR
    roll_up_to(quiet_weeks, END)
    sync_watches(NOW)
    scan_at(NOW)
    next_quiet_hour(quiet_weeks)
    scan_at(NOW + HOUR)
    return quiet_weeks


def next_quiet_hour(project: Project, hour: int = 0) -> None:
    """One more usual hour of both names, rolled up (for the scan of END + (hour + 1) hours)."""
    for name in ("user.signup", "order.placed"):
        add_hour(project, END + hour * HOUR, daily_count(END + hour * HOUR), name=name)
    roll_up_to(project, END + (hour + 1) * HOUR)
    # roll_up_to recomputes every bucket of the project, which marks them all as late data: the next scan would
    # judge the last day again, not continue its carry, which is what these tests are about.
    Watch.objects.filter(project=project).update(stale_from=None)


def fresh_state(watch: Watch, config: DetectorConfig) -> tuple[Carry, FitCache]:
    """The carry and block fits a first scan of the watch's cached history computes."""
    values = cached_values(watch)
    times = watch.history_end.timestamp() - 3600.0 * np.arange(len(values), 0, -1)
    fits = FitCache()
    _, carried = score_incremental(times, values, config, 1, None, fits)
    return carried, fits


def same_carry(stored: Carry | None, fresh: Carry) -> bool:
    return stored is not None and all(
        np.array_equal(getattr(stored, name), getattr(fresh, name)) for name in ("score", "z", "kind", "direction")
    )


def test_unreadable_carry_and_fits_are_logged_and_rebuilt_without_failing_the_batch(
    two_names: Project, caplog: pytest.LogCaptureFixture
) -> None:
    signups = Watch.objects.get(project=two_names, name="user.signup")
    orders = Watch.objects.get(project=two_names, name="order.placed")
    corrupt = bytearray(bytes(signups.carry))
    corrupt[-1] = 200  # a direction code no version ever wrote
    Watch.objects.filter(pk=signups.pk).update(carry=bytes(corrupt))
    Watch.objects.filter(pk=orders.pk).update(fitted=bytes(orders.fitted)[:-800])  # cut short
    next_quiet_hour(two_names, 1)

    moment = NOW + 2 * HOUR + timedelta(minutes=3)
    result = scan(due_watch_ids(moment, 100), moment)

    assert (result.scanned, result.failed) == (2, [])
    assert f"watch {signups.pk}: carry unreadable" in caplog.text
    assert f"watch {orders.pk}: model fits unreadable" in caplog.text
    config = DetectorConfig(3600, "count")
    for watch in Watch.objects.filter(pk__in=[signups.pk, orders.pk]):
        carried, fits = fresh_state(watch, config)
        assert same_carry(unpack(watch.carry, END + 2 * HOUR, 3600, "medium"), carried)
        assert bytes(watch.fitted) == pack_fits(fits, 3600, "count")


@contextmanager
def upgraded() -> Iterator[None]:
    """A release whose detector gives other results: other constants (the spread read from an interquartile
    range, which changes every block's fits; the evidence a score of 0.5 stands for, which changes every
    score but no decision), and the version bumped, as the rule asks."""
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(robust, "NORMAL_IQR", 1.2)
        patched.setattr(calibration, "NLP_HALF", 3.5)
        patched.setattr(carry, "DETECTOR_VERSION", DETECTOR_VERSION + 1)
        yield


def test_the_first_scan_after_an_upgrade_rebuilds_the_state_opens_nothing_and_scores_as_a_fresh_run(
    two_names: Project, caplog: pytest.LogCaptureFixture
) -> None:
    config = DetectorConfig(3600, "count")
    next_quiet_hour(two_names, 1)
    caplog.set_level(logging.INFO, logger="anomalies.carry")

    with upgraded():
        changes = scan_at(NOW + 2 * HOUR + timedelta(minutes=3))
        watches = list(Watch.objects.all())
        fresh = {watch.pk: fresh_state(watch, config) for watch in watches}
        fresh_fits = {watch.pk: pack_fits(fresh[watch.pk][1], 3600, "count") for watch in watches}
        stored = {watch.pk: unpack(watch.carry, END + 2 * HOUR, 3600, "medium") for watch in watches}

    assert changes == []
    for watch in watches:
        assert same_carry(stored[watch.pk], fresh[watch.pk][0])
        assert bytes(watch.fitted) == fresh_fits[watch.pk]
        old_fits = pack_fits(fresh_state(watch, config)[1], 3600, "count")  # the detector before the upgrade's
        assert bytes(watch.fitted)[40:] != old_fits[40:]  # (past the header, whose version differs)
        assert stored_version(watch.carry) == DETECTOR_VERSION + 1
        upgrade = f"state of detector version {DETECTOR_VERSION}, rebuilt for {DETECTOR_VERSION + 1}"
        assert f"watch {watch.pk}: {upgrade}" in caplog.text


def test_an_episode_open_before_an_upgrade_is_carried_on_not_opened_again(quiet_weeks: Project) -> None:
    sync_watches(NOW)
    scan_at(NOW)
    add_hour(quiet_weeks, END, 200)  # ten times the usual
    roll_up_to(quiet_weeks, END + HOUR)
    assert scan_at(NOW + HOUR + timedelta(minutes=3)) == [("opened", "spike", "open")]
    opened = Anomaly.objects.get()
    add_hour(quiet_weeks, END + HOUR, daily_count(END + HOUR))  # back to usual: the episode cools down
    roll_up_to(quiet_weeks, END + 2 * HOUR)
    Watch.objects.update(stale_from=None)  # (as in next_quiet_hour)

    with upgraded():
        changes = scan_at(NOW + 2 * HOUR + timedelta(minutes=3))
        watch = Watch.objects.get()
        values = cached_values(watch)
        times = watch.history_end.timestamp() - 3600.0 * np.arange(len(values), 0, -1)
        fresh = score_latest(times, values, DetectorConfig(3600, "count"))
        carried, _ = fresh_state(watch, DetectorConfig(3600, "count"))
        stored = unpack(watch.carry, END + 2 * HOUR, 3600, "medium")

    assert fresh.is_anomaly[-1]  # a fresh run of the new detector holds the episode through its cool-down...
    assert changes == [("updated", "spike", "open")]  # ...and so does the scan: the same episode, kept
    assert list(Anomaly.objects.values_list("pk", "status")) == [(opened.pk, "open")]
    assert same_carry(stored, carried)


def test_minute_baselines_and_early_peeks_of_the_version_before_an_upgrade_are_not_used(
    busy_and_sparse: Project,
) -> None:
    """The minute checks and early opens judge by what each scan stores on the watch (the expected events a
    minute, the early-peek threshold): after an upgrade, those of the old detector wait for the watch's first
    scan of a new bucket by the new one, as its carry and fits do."""
    surge = BUSY_END + 14 * MINUTE  # six more page views a minute on top of the usual two, from 10:14
    add_events(busy_and_sparse, "page.viewed", surge, surge + 10 * MINUTE, timedelta(seconds=10))
    roll_up(busy_and_sparse, BUSY_END + MINUTE)
    sync_watches(BUSY_NOW)
    for moment in (BUSY_NOW, BUSY_END + 16 * MINUTE):  # the buckets until 10:15 (one minute of the surge)
        set_watermark(moment - timedelta(seconds=5))
        scan(due_watch_ids(moment, 100), moment)
    later = BUSY_END + 19 * MINUTE  # 10:14-10:18 complete: three minutes of the surge in the bucket in progress
    set_watermark(later - timedelta(seconds=5))
    busy = Watch.objects.get(name="page.viewed")
    Watch.objects.update(stale_from=None)  # (as in next_quiet_hour: roll_up marks every bucket as late data)

    with upgraded():
        assert peek_candidates(later) == []
        assert not any(check_minutes(later).changes.values())
    # The same minutes judged by the version that set the baselines: an early peek, and a surge by the minute.
    assert peek_candidates(later) == [busy.pk]
    assert [change for change, _ in check_minutes(later).changes[busy_and_sparse.pk]] == ["opened"]
