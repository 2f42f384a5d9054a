"""Minute checks: a busy series that stops is opened minutes after its last event, judged on the minute
rollups the rollups have completed, and the scan's detector does not resolve that episode while the
series stays quiet. The evidence itself (anomalies.detection.silence) is pure arithmetic, tested alone."""

import math
import threading
from datetime import timedelta

import numpy as np
import pytest
from django.db import connection
from numpy.lib.stride_tricks import sliding_window_view

from anomalies import minutes, services
from anomalies.detection import DetectorConfig
from anomalies.detection.silence import (
    DROP_RATIOS,
    MINOR_WEIGHT,
    dispersion_of,
    drop_log_ratio,
    minute_evidence,
    poisson_lower_nats,
    poisson_upper_nats,
    silence_cost,
    upper_nats,
)
from anomalies.early import complete_minutes
from anomalies.minutes import check_minutes, unseen_minutes
from anomalies.models import Anomaly, Watch
from anomalies.scan import due_watch_ids, scan
from anomalies.tests.concurrency import Worker
from anomalies.tests.test_cadence import END, HOUR, MINUTE, NOW, add_events, busy_and_sparse, roll_up, set_watermark
from anomalies.watches import sync_watches
from flux.tenants.models import Project
from flux.tenants.services import set_archived

__all__ = ["busy_and_sparse"]  # the fixture, used by name
STOP = END + 12 * MINUTE
OPEN_NLP = DetectorConfig(300, "count").open_nlp


def test_the_lower_tail_is_the_poisson_probability() -> None:
    exact = -math.log(sum(math.exp(-20.0) * 20.0**j / math.factorial(j) for j in range(5)))
    assert poisson_lower_nats(np.array([4, 0]), np.array([20.0, 3.0])) == pytest.approx([exact, 3.0])


def test_a_silence_is_judged_by_the_events_it_was_expected_to_hold() -> None:
    counts = np.full((2, 60), 2.0)
    counts[0, -7:] = 0  # seven silent minutes where two events a minute are expected
    counts[1, -6:] = 0
    evidence = minute_evidence(counts, [2.0, 2.0], [1.0, 1.0])
    assert list(evidence.kind) == ["flatline", "flatline"] and list(evidence.minutes) == [7, 6]
    assert evidence.nlp[0] == pytest.approx(14 / math.log(10) - silence_cost(np.array(2.0)))
    assert evidence.nlp[0] >= OPEN_NLP > evidence.nlp[1]


def test_a_silence_where_next_to_nothing_is_expected_is_no_evidence() -> None:
    """A busy series in the trough of its day: the scan's expectation of its latest bucket can be 0, and the
    estimate of the minutes ahead a few events a day. An hour without events there is no stop (p near 1)."""
    counts = np.zeros((3, 60))
    counts[1, :20] = 1.0
    evidence = minute_evidence(counts, [0.0, 0.0, 1e-6], [1.0] * 3, [0.0] * 3, [30] * 3)
    assert (evidence.nlp <= 0.01).all()  # was 11 decades (a critical flatline) at rate 0, 4.3 at 1e-6 a minute


def test_a_dispersed_series_needs_a_longer_silence() -> None:
    counts = np.full((1, 60), 2.0)
    counts[0, -7:] = 0
    assert minute_evidence(counts, [2.0], [3.0]).nlp[0] < OPEN_NLP


def test_a_drop_to_a_fifth_is_found_and_one_that_ended_is_not() -> None:
    rng = np.random.default_rng(5)
    ongoing = rng.poisson(2.0, size=(1, 60)).astype(float)
    ongoing[0, -30:] = rng.poisson(0.4, size=30)
    ended = ongoing.copy()
    ended[0, -5:] = 2.0
    evidence = minute_evidence(np.vstack([ongoing, ended]), [2.0, 2.0], [1.0, 1.0])
    assert evidence.kind[0] == "drop" and evidence.nlp[0] >= OPEN_NLP
    assert evidence.nlp[1] < 0


def test_a_drop_to_a_half_is_found_and_dated_from_where_it_began() -> None:
    rng = np.random.default_rng(9)
    counts = rng.poisson(5.0, size=(1, 60)).astype(float)
    counts[0, -25:] = rng.poisson(2.5, size=25)
    evidence = minute_evidence(counts, [5.0], [1.0])
    assert evidence.kind[0] == "drop" and evidence.nlp[0] >= OPEN_NLP
    assert abs(evidence.minutes[0] - 25) <= 3


def test_a_drop_to_a_fifth_opens_in_35_minutes_at_60_an_hour_with_the_rate_known_to_9_percent() -> None:
    counts = np.ones((1, 60))
    counts[0, -35:] = 0
    counts[0, -33::5] = 1  # one event every five minutes for the last 35 (main's window scan: 3.4, not opened)
    evidence = minute_evidence(counts, [1.0], [1.0], [0.09**2])
    assert evidence.kind[0] == "drop" and evidence.nlp[0] >= OPEN_NLP and evidence.minutes[0] == 35


def test_the_drop_ratio_is_the_poisson_likelihood_ratio_averaged_over_the_falls() -> None:
    observed, expected = 6, 20.0
    by_hand = np.mean([r**observed * math.exp(expected * (1 - r)) for r in DROP_RATIOS])
    exact = drop_log_ratio(np.array([observed]), np.array([expected]), np.array([0.0]))[0]
    assert exact == pytest.approx(math.log(by_hand))
    # An uncertain rate (a gamma of relative variance 0.01 around it) weighs the same shortfall less.
    uncertain = drop_log_ratio(np.array([observed]), np.array([expected]), np.array([0.01]))[0]
    assert 0 < uncertain < exact - 0.5


def drop_opens(counts: np.ndarray, rate: float, dispersion: float, variance: float, threshold: float) -> float:
    """False drop opens per five minutes over the threshold's p, each minute judged on the 60 before it."""
    windows = sliding_window_view(counts, 60, axis=1)
    rows, steps, _ = windows.shape
    cells = rows * steps
    evidence = minute_evidence(
        windows.reshape(cells, 60), np.full(cells, rate), np.full(cells, dispersion), np.full(cells, variance)
    )
    above = ((evidence.nlp >= threshold) & (evidence.kind == "drop")).reshape(rows, steps)
    opens = np.count_nonzero(above[:, 1:] & ~above[:, :-1])
    return opens / (rows * (steps - 1) / 5) / 10.0**-threshold


@pytest.mark.parametrize("per_hour", [30, 60, 150, 600])
def test_clean_series_open_drops_no_more_than_the_checks_share(per_hour: int) -> None:
    """Seeded clean series, at p = 0.1 and 0.01: Poisson counts at the rate given; Poisson counts whose
    rate is drawn around the one given with the variance the check is told of; bursty counts (negative
    binomial, three times the variance) at their dispersion. The design allows MINOR_WEIGHT (0.1); these
    samples give at most 0.062 (bench/drop_tests.py measures more series, at more levels)."""
    rng = np.random.default_rng(per_hour)
    rate, series, minutes = per_hour / 60, 40, 2000
    poisson = rng.poisson(rate, size=(series, minutes))
    drawn = rng.poisson(rate * rng.gamma(100.0, 0.01, size=(series, 1)), size=(series, minutes))
    size = rate / 2
    bursty = rng.negative_binomial(size, size / (size + rate), size=(series, minutes))
    for threshold in (1.0, 2.0):
        assert drop_opens(poisson, rate, 1.0, 0.0, threshold) <= MINOR_WEIGHT
        assert drop_opens(drawn, rate, 1.0, 0.01, threshold) <= MINOR_WEIGHT
        assert drop_opens(bursty, rate, 3.0, 0.0, threshold) <= MINOR_WEIGHT


def silence_opens(counts: np.ndarray, rate: float, variance: float, threshold: float) -> float:
    """False silence opens per five minutes over the threshold's p, each minute judged on the 60 before it
    with a rate estimated from data that ended 30 to 34 minutes before (as the scan's, read each minute)."""
    windows = sliding_window_view(counts, 60, axis=1)
    rows, steps, _ = windows.shape
    cells = rows * steps
    unseen = 30 + np.arange(cells) % 5
    evidence = minute_evidence(
        windows.reshape(cells, 60), np.full(cells, rate), np.ones(cells), np.full(cells, variance), unseen
    )
    above = ((evidence.nlp >= threshold) & (evidence.kind == "flatline")).reshape(rows, steps)
    opens = np.count_nonzero(above[:, 1:] & ~above[:, :-1])
    return opens / (rows * (steps - 1) / 5) / 10.0**-threshold


@pytest.mark.parametrize(("per_hour", "spread"), [(30, 0.13), (60, 0.09), (60, 0.2), (150, 0.065)])
def test_clean_series_open_silences_no_more_than_the_checks_share(per_hour: int, spread: float) -> None:
    """Seeded clean Poisson series whose rate is drawn around the one the check is given, with the spread
    it is told of (the estimate's at that volume, and a wide one), the silence updating the rate with the
    events before it that the estimate has not read: at p = 0.1 and 0.01, at most MINOR_WEIGHT."""
    rng = np.random.default_rng(per_hour)
    rate, series, minutes = per_hour / 60, 60, 2000
    drawn = rng.poisson(rate * rng.gamma(spread**-2, spread**2, size=(series, 1)), size=(series, minutes))
    for threshold in (1.0, 2.0):
        assert silence_opens(drawn, rate, spread**2, threshold) <= MINOR_WEIGHT


def test_the_rate_has_not_read_the_minutes_from_half_an_hour_before_its_history_ends() -> None:
    # (anomalies.detection.minute_rate: today's level stops SKIP_MINUTES before the latest bucket's end.)
    assert unseen_minutes(END, END + 3 * MINUTE) == 33
    assert unseen_minutes(END, END) == 30
    assert unseen_minutes(END - timedelta(hours=2), END) == 60  # a scan far behind: every minute read is new
    assert unseen_minutes(None, END) == 0


def test_the_dispersion_of_even_counts_is_one_and_of_bursty_ones_more() -> None:
    rng = np.random.default_rng(2)
    assert dispersion_of(rng.poisson(10.0, 288).astype(float)) == pytest.approx(1.0, abs=0.3)
    assert dispersion_of(rng.negative_binomial(2, 2 / 12, 288).astype(float)) > 3


def stop_events(project: Project, name: str, since: timedelta) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM events_rawevent e USING events_eventname n"
            " WHERE n.project_id = e.project_id AND n.id = e.name_id"
            " AND e.project_id = %s AND n.name = %s AND e.time >= %s",
            [project.pk, name, END + since],
        )


def run_minutes(until: timedelta, stalled_at: timedelta | None = None, scans: bool = True) -> list[tuple]:
    """Every minute from NOW: the scans that are due (unless not `scans`), then the minute checks; the
    changes seen. The rollups complete each minute five seconds after it, or stall at END + stalled_at."""
    changes, now = [], NOW
    while now < END + until:
        now += MINUTE
        set_watermark(now - timedelta(seconds=5) if stalled_at is None else min(now, END + stalled_at))
        for result in (scan(due_watch_ids(now, 100) if scans else [], now), check_minutes(now)):
            changes += [(now - STOP, change, a.kind) for items in result.changes.values() for change, a in items]
    return changes


def test_a_busy_series_that_stops_opens_minutes_after_its_last_event(busy_and_sparse: Project) -> None:
    stop_events(busy_and_sparse, "page.viewed", STOP - END)  # two page views a minute, none from 10:12
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy = Watch.objects.get(name="page.viewed")
    # The same hour on the previous days at today's level, with how sure of it nine days make the scan.
    assert busy.minute_rate == pytest.approx(2.0, rel=0.1) and 0 < busy.minute_rate_variance < 0.01
    assert Watch.objects.get(name="user.signup").minute_rate is None  # hourly series are not checked by the minute
    changes = run_minutes(until=timedelta(minutes=45))
    # Seven silent minutes (14 events expected, p = 8e-7, under the threshold with its costs) are
    # complete at 10:19, rolled up a minute later.
    assert changes[0] == (8 * MINUTE, "opened", "flatline")
    assert "resolved" not in {change for _, change, _ in changes}  # the scans confirm it, never resolve it
    anomaly = Anomaly.objects.get(watch__name="page.viewed")
    assert (anomaly.interval_seconds, anomaly.started_at, anomaly.direction) == (60, STOP, "down")
    assert anomaly.severity == "critical"  # by 10:45 the silence (66 events expected) has escalated it


def test_minutes_the_rollups_have_not_completed_are_never_read_as_silence(busy_and_sparse: Project) -> None:
    stop_events(busy_and_sparse, "page.viewed", STOP - END)  # as if the page views from 10:12 were not rolled up...
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    # ...because the rollups stalled at 10:12: no minute past their watermark reads as a minute without events.
    assert run_minutes(until=timedelta(minutes=30), stalled_at=STOP - END) == []
    assert not Anomaly.objects.exists()


def test_a_steady_busy_series_opens_nothing_by_the_minute(busy_and_sparse: Project) -> None:
    roll_up(busy_and_sparse, END + timedelta(hours=1))
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    assert run_minutes(until=timedelta(minutes=40)) == []


def test_a_very_busy_series_is_judged_without_summing_thousands_of_terms() -> None:
    rng = np.random.default_rng(8)
    steady = rng.poisson(500.0, size=(1, 60)).astype(float)
    dropped = steady.copy()
    dropped[0, -10:] = rng.poisson(300.0, size=10)
    evidence = minute_evidence(np.vstack([steady, dropped]), [500.0, 500.0], [1.0, 1.0])
    assert evidence.nlp[0] < 0 < OPEN_NLP <= evidence.nlp[1]
    assert poisson_lower_nats(np.array([900]), np.array([1000.0]))[0] == pytest.approx(5.17, abs=0.1)


def test_the_upper_tail_is_the_poisson_probability_or_a_little_less_evidence() -> None:
    for k, mean in ((10, 2.5), (5, 1.0), (30, 10.0), (3, 0.5)):
        exact = -math.log(1 - sum(math.exp(-mean) * mean**j / math.factorial(j) for j in range(k)))
        nats = poisson_upper_nats(np.array([k]), np.array([mean]))[0]
        assert exact + math.log1p(-mean / (k + 1)) <= nats <= exact
    assert poisson_upper_nats(np.array([2, 1000]), np.array([2.0, 1000.0])).tolist() == [0.0, 0.0]  # no excess


def test_the_upper_tail_of_dispersed_counts_is_the_negative_binomial_one_or_a_little_less() -> None:
    for k, mean, dispersion in ((10, 3.0, 3.0), (8, 1.0, 2.7), (30, 12.0, 2.0)):
        size = mean / (dispersion - 1)
        p = size / (size + mean)
        log_terms = [math.lgamma(j + size) - math.lgamma(j + 1) + j * math.log(1 - p) for j in range(k)]
        below = sum(math.exp(term - math.lgamma(size) + size * math.log(p)) for term in log_terms)
        nats = upper_nats(np.array([k]), np.array([mean]), np.array([dispersion]))[0]
        assert -math.log(1 - below) - 0.1 <= nats <= -math.log(1 - below)
    # Far out, a burst is much likelier than the Poisson tail over the dispersion says (e^-14.8, not e^-23.1).
    burst = upper_nats(np.array([40]), np.array([3.0]), np.array([3.0]))[0]
    assert burst == pytest.approx(14.77, abs=0.05)
    assert burst < poisson_upper_nats(np.array([40]), np.array([3.0]))[0] / 3 - 8


def test_a_surge_is_found_by_the_minute_and_one_that_ended_is_not() -> None:
    rng = np.random.default_rng(6)
    surging = rng.poisson(1.0, size=(1, 60)).astype(float)
    surging[0, -6:] = rng.poisson(4.0, size=6)  # four times the usual for six minutes
    ended = surging.copy()
    ended[0, -2:] = 1.0
    evidence = minute_evidence(np.vstack([surging, ended]), [1.0, 1.0], [1.0, 1.0])
    assert (evidence.kind[0], evidence.direction[0]) == ("spike", "up") and evidence.nlp[0] >= OPEN_NLP
    assert evidence.nlp[1] < 0


def test_a_dispersed_or_nearly_idle_series_needs_more_than_a_poisson_surge() -> None:
    counts = np.full((3, 60), 1.0)
    counts[:, -5:] = 4.0  # twenty events in five minutes where five are expected
    evidence = minute_evidence(counts, [1.0, 1.0, 0.2], [1.0, 3.0, 1.0])
    assert evidence.nlp[0] >= OPEN_NLP
    assert evidence.nlp[1] < OPEN_NLP  # as wide as three Poisson series
    assert evidence.nlp[2] == -np.inf  # a busy series in its nightly trough: left to the detector


def test_a_busy_series_that_surges_opens_a_spike_within_minutes(busy_and_sparse: Project) -> None:
    surge = STOP  # six more page views a minute on top of the usual two, from 10:12
    add_events(busy_and_sparse, "page.viewed", surge, surge + 10 * MINUTE, timedelta(seconds=10))
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    changes = run_minutes(until=timedelta(minutes=20), scans=False)  # (the bucket scan of 10:16 would open it too)
    opened = [(at, kind) for at, change, kind in changes if change == "opened"]
    # Its first three minutes (24 page views where 6 are expected, p = 2.5e-8 before the costs of testing
    # every minute) are complete at 10:15, read a minute later (the test's rollups: five seconds behind).
    assert opened[0] == (4 * MINUTE, "spike")
    anomaly = Anomaly.objects.get(watch__name="page.viewed")
    assert (anomaly.direction, anomaly.interval_seconds, anomaly.started_at) == ("up", 60, surge)


def test_a_minute_is_complete_once_the_watermark_has_settled_past_its_end(busy_and_sparse: Project) -> None:
    roll_up(busy_and_sparse, END + MINUTE)
    set_watermark(END + timedelta(seconds=10))
    assert complete_minutes(END + MINUTE) == {"events": END}
    set_watermark(END + timedelta(seconds=9))  # an event of 09:59:59 may still be in a client's buffer
    assert complete_minutes(END + MINUTE) == {"events": END - MINUTE}


def test_an_archived_project_whose_busy_series_stops_opens_nothing(busy_and_sparse: Project) -> None:
    stop_events(busy_and_sparse, "page.viewed", STOP - END)  # archived at 10:12: its keys are refused
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    set_archived(busy_and_sparse, True)
    assert run_minutes(until=timedelta(minutes=45), scans=False) == []  # neither the minute checks...
    later = END + timedelta(minutes=46)
    assert not any(scan(due_watch_ids(later, 100), later).changes.values())  # ...nor the scan catching up
    assert not Anomaly.objects.exists()


def test_a_stop_whose_explanation_fails_is_still_told_of(
    busy_and_sparse: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    stop_events(busy_and_sparse, "page.viewed", STOP - END)
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)

    def broken(*args: object) -> None:
        raise RuntimeError("raw events could not be read")

    monkeypatch.setattr("anomalies.explain.tag_counts", broken)
    assert run_minutes(until=timedelta(minutes=21), scans=False)[0] == (8 * MINUTE, "opened", "flatline")


@pytest.mark.django_db(transaction=True)
def test_a_stop_seen_while_a_scan_opens_a_surge_leaves_the_scans_episode_as_it_is(
    busy_and_sparse: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The minute checks read which episodes are open, then judge each watch: a scan that opens one in
    between (they run at once after each rollup run) must not have it carried on by a stop by the minute."""
    stop_events(busy_and_sparse, "page.viewed", STOP - END)
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    later = STOP + 8 * MINUTE  # seven silent minutes complete: a stop
    set_watermark(later - timedelta(seconds=5))
    judged, goes_on, judge = threading.Event(), threading.Event(), minutes.minute_verdict

    def pausing_once_judged(*args: object) -> services.Verdict:
        judged.set()
        goes_on.wait(30)
        return judge(*args)

    monkeypatch.setattr(minutes, "minute_verdict", pausing_once_judged)
    checks = Worker(lambda: check_minutes(later))
    checks.start()
    assert judged.wait(30)
    busy = Watch.objects.get(name="page.viewed")
    surge = services.Verdict(STOP, 300, True, 0.9, "critical", "spike", "up", 90.0, 10.0, 5.0, 20.0)
    _, opened = services.apply_verdict(busy, surge, later)  # the scan, on its own connection
    goes_on.set()
    assert not any(checks.outcome().changes.values())
    kept = Anomaly.objects.get()
    assert (kept.pk, kept.kind, kept.direction, kept.actual, kept.last_anomalous_at) == (
        opened.pk, "spike", "up", 90.0, STOP,
    )  # fmt: skip


def test_a_baseline_scanned_hours_before_the_minutes_read_waits_for_the_scan_catching_up(
    busy_and_sparse: Project,
) -> None:
    """The rollups resume after a stall of three hours: the minutes they complete are judged against the rate
    the watch's last scan stored, that of 07:00 (when the series ran three times as busy, say), until the
    scans catch up. Three times fewer events than then is the day's own course, no drop."""
    roll_up(busy_and_sparse, END + MINUTE)
    sync_watches(NOW)
    scan(due_watch_ids(NOW, 100), NOW)
    busy = Watch.objects.filter(name="page.viewed")
    busy.update(minute_rate=3 * busy.get().minute_rate, history_end=END - 3 * HOUR)
    later = END + 20 * MINUTE
    set_watermark(later - timedelta(seconds=5))
    assert not any(check_minutes(later).changes.values())
