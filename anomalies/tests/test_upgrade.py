"""What a scan does with the state a watch stores between scans (anomalies.carry) when it cannot continue it:
state cut short or corrupt, or computed by another detector version (an upgrade). It rebuilds it from the
watch's cached history, logged with the watch's id, and never fails the watch or its batch."""

from datetime import timedelta

import numpy as np
import pytest

from anomalies.carry import pack_fits, unpack
from anomalies.detection import DetectorConfig, FitCache, score_incremental
from anomalies.models import Watch
from anomalies.scan import cached_values, due_watch_ids, scan
from anomalies.tests.test_scan import END, HOUR, NOW, add_hour, daily_count, quiet_weeks, roll_up_to, scan_at
from anomalies.watches import sync_watches
from flux.tenants.models import Project

__all__ = ["quiet_weeks"]  # the fixture, shared with test_scan


@pytest.fixture
def two_names(quiet_weeks: Project) -> Project:
    """The quiet signups, and orders alike, both scanned once (each with its carry and fits stored)."""
    hour = END - 35 * 24 * HOUR
    while hour < END:
        add_hour(quiet_weeks, hour, daily_count(hour), name="order.placed")
        hour += HOUR
    roll_up_to(quiet_weeks, END)
    sync_watches(NOW)
    scan_at(NOW)
    return quiet_weeks


def next_quiet_hour(project: Project, hour: int = 0) -> None:
    """One more usual hour of both names, rolled up (for the scan of END + (hour + 1) hours)."""
    for name in ("user.signup", "order.placed"):
        add_hour(project, END + hour * HOUR, daily_count(END + hour * HOUR), name=name)
    roll_up_to(project, END + (hour + 1) * HOUR)
    # roll_up_to recomputes every bucket of the project, which marks them all as late data: the next scan would
    # judge the last day again, not continue its carry, which is what these tests are about.
    Watch.objects.filter(project=project).update(stale_from=None)


def fresh_state(watch: Watch, config: DetectorConfig) -> tuple[np.ndarray, FitCache]:
    """The carried scores and block fits a first scan of the watch's cached history computes."""
    values = cached_values(watch)
    times = watch.history_end.timestamp() - 3600.0 * np.arange(len(values), 0, -1)
    fits = FitCache()
    _, carried = score_incremental(times, values, config, 1, None, fits)
    return carried.score, fits


def test_unreadable_carry_and_fits_are_logged_and_rebuilt_without_failing_the_batch(
    two_names: Project, caplog: pytest.LogCaptureFixture
) -> None:
    signups = Watch.objects.get(project=two_names, name="user.signup")
    orders = Watch.objects.get(project=two_names, name="order.placed")
    corrupt = bytearray(bytes(signups.carry))
    corrupt[-1] = 200  # a direction code no version ever wrote
    Watch.objects.filter(pk=signups.pk).update(carry=bytes(corrupt))
    Watch.objects.filter(pk=orders.pk).update(fitted=bytes(orders.fitted)[:-800])  # cut short
    next_quiet_hour(two_names)

    moment = NOW + HOUR + timedelta(minutes=3)
    result = scan(due_watch_ids(moment, 100), moment)

    assert (result.scanned, result.failed) == (2, [])
    assert f"watch {signups.pk}: carry unreadable" in caplog.text
    assert f"watch {orders.pk}: model fits unreadable" in caplog.text
    config = DetectorConfig(3600, "count")
    for watch in Watch.objects.filter(pk__in=[signups.pk, orders.pk]):
        scores, fits = fresh_state(watch, config)
        stored = unpack(watch.carry, END + HOUR, 3600, "medium")
        assert stored is not None and np.array_equal(stored.score, scores)
        assert bytes(watch.fitted) == pack_fits(fits, 3600, "count")
