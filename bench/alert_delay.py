"""Minutes to alert (bench/anomaly_scan.py --alert-series N): how many minutes after an anomaly starts
the production pipeline opens it and notifies each channel, against the best a test could do at the
same false-alert budget; and (--calibrate) the minute checks' false opens on clean Poisson series.

`--alert-series` busy series (bench/scan_seed.py), two thirds of them given an anomaly (a 4x spike for
20 minutes, a drop to a fifth for 40 minutes, or a stop for 40 minutes) starting at a known minute. A
controlled clock then moves minute by minute as production does: every due watch scanned at the top of
the minute, the rollup watermark five seconds (SAFETY_LAG) behind the run that set it, early opens and
minute checks either with the scans (main) or right after the rollup run ROLLUP_OFFSET seconds into the
minute (anomalies.rollup_trigger), notifications queued to two webhook channels, one from `info` (told
when an anomaly opens) and one from `warning`; once per mode (MODES). Prints p50/p95 minutes from the
first anomalous minute to the open anomaly and to each channel's notification, per kind and per volume
(30-60 and 60-150 events an hour), and anomalies opened on the clean series.

Beside them, the bound: per series, the minutes of the anomaly's expected course (its expected counts,
at the series' rate at that time) after which one Poisson test of its trailing minutes reaches the
budget's p (medium: 1e-4 per five minutes to open, 1e-8 for a warning), with no cost for testing
every minute or for not knowing the anomaly's shape, and read the moment its last minute ends. No
test at that budget calls the median anomaly sooner, so measured minus bound is what the pipeline
loses (the tests' costs, the rollup lag, the bucket detector's own rules). "-": not reached within
the anomaly.
"""

import math
import time
from datetime import datetime, timedelta

import numpy as np
from scan_seed import ANOMALIES, FAST_DAYS, MINUTE, minute_rates, seed_busy, set_watermarks

WINDOW_MINUTES = 120  # the simulated stretch of the minutes-to-alert run
CHANNEL_SEVERITIES = ("info", "warning")
MODES = {
    "buckets": "complete buckets only",
    "early": "with early opens (bucket in progress; before the minute checks)",
    "minutes-at-00": "with early opens and minute checks at the top of the minute (main's timing)",
    "minutes": "with early opens and minute checks right after the rollup run (this checkout's timing)",
}


def percentiles(minutes: list[float]) -> str:
    """p50 and p95, "-" when none (or, for bounds, when not reached within the anomaly: inf)."""
    if not minutes:
        return f"{'-':>6}{'-':>6}"
    # Interpolated as before; with a bound never reached (inf), the nearest value above instead.
    method = "linear" if np.isfinite(minutes).all() else "higher"
    found = np.percentile(np.minimum(minutes, 1e9), [50, 95], method=method)
    return "".join(f"{value:>6.1f}" if value < 1e9 else f"{'-':>6}" for value in found)


def bound_minutes(kind: str, rate: float, nlp: float, counts: np.ndarray | None = None) -> float:
    """Minutes of the anomaly's expected course (or of its `counts`, as seeded) until one Poisson test of
    its trailing minutes has -log10 p >= nlp (the module docstring); inf if not within the anomaly."""
    from anomalies.detection.silence import poisson_lower_nats, poisson_upper_nats

    factor, length = ANOMALIES[kind]
    minutes = np.arange(1, length + 1)
    expected = rate * minutes
    if counts is not None:
        seen = np.cumsum(counts)
    else:
        seen = np.floor(factor * expected) if factor < 1 else np.ceil(factor * expected)
    nats = (poisson_lower_nats if factor < 1 else poisson_upper_nats)(seen, expected)
    reached = np.flatnonzero(nats >= nlp * math.log(10))
    return float(minutes[reached[0]]) if len(reached) else math.inf


def simulate(project_id: int, t0: datetime, mode: str) -> tuple[dict[str, datetime], dict[str, dict[str, datetime]]]:
    """Move the clock minute by minute from t0 as production does; returns when each series' first
    anomaly was opened and, per channel severity, notified. `mode` is one of MODES: what runs besides
    the scans of complete buckets."""
    from anomalies import early, minutes, notifications
    from anomalies.models import Anomaly, Delivery, Watch
    from anomalies.scan import scan
    from anomalies.watches import sync_watches
    from flux.query.rollup_job import SAFETY_LAG

    try:
        from anomalies.rollup_trigger import ROLLUP_OFFSET
    except ImportError:  # a checkout from before it
        ROLLUP_OFFSET = 0

    Delivery.objects.filter(channel__project_id=project_id).delete()
    Anomaly.objects.filter(project_id=project_id).delete()
    Watch.objects.filter(project_id=project_id).delete()
    set_watermarks(t0 - MINUTE)
    sync_watches(t0)
    due_watches = Watch.objects.filter(project_id=project_id).order_by("next_scan_at")
    scan(list(due_watches.values_list("pk", flat=True)), t0)  # the first scan: each busy series reads 8 days
    opened: dict[str, datetime] = {}
    notified: dict[str, dict[str, datetime]] = {severity: {} for severity in CHANNEL_SEVERITIES}

    def record(results: list, now: datetime) -> None:
        for result in results:
            for project, changes in result.changes.items():
                names = {anomaly.pk: anomaly.watch.name for _, anomaly in changes}
                for change, anomaly in changes:
                    if change == "opened":
                        opened.setdefault(anomaly.watch.name, now)
                for delivery in notifications.notify_changes(project, changes, now):
                    for pk in delivery.anomaly_ids:
                        notified[delivery.channel.min_severity].setdefault(names[pk], now)

    def checks(now: datetime) -> list:
        if mode == "buckets":
            return []
        results = [early.open_early(early.peek_candidates(now), now)]
        return [*results, minutes.check_minutes(now)] if mode.startswith("minutes") else results

    for tick in range(1, WINDOW_MINUTES + 1):
        minute = t0 + MINUTE * tick
        if mode == "minutes":
            # The rollup run ROLLUP_OFFSET into the minute, then what it queues a second later: the due scans,
            # early opens and minute checks of its source (beat's dispatch at the top of the minute finds no
            # five-minute watch due).
            set_watermarks(minute + timedelta(seconds=ROLLUP_OFFSET) - SAFETY_LAG)
            now = minute + timedelta(seconds=ROLLUP_OFFSET + 1)
        else:
            set_watermarks(minute - SAFETY_LAG)  # main: the run started with the dispatch, done before the checks
            now = minute
        due = list(due_watches.filter(next_scan_at__lte=now).values_list("pk", flat=True))
        record([scan(due[start : start + 200], now) for start in range(0, len(due), 200)], now)
        record(checks(now), now)
    return opened, notified


def injected_anomalies(series: int, t0: datetime) -> dict[int, tuple[str, datetime]]:
    """{series index: (kind, first anomalous minute)}: every third series stays clean; the others take the
    kinds in turn, each starting 15 to 70 minutes after t0."""
    rng = np.random.default_rng(11)
    kinds = list(ANOMALIES)
    return {
        index: (kinds[(index // 3) % len(kinds)], t0 + MINUTE * int(rng.integers(15, 70)))
        for index in range(series)
        if index % 3
    }


def minutes_to_alert(series: int, modes: str, end: datetime, hour: int = 23) -> None:
    """Simulate the pipeline minute by minute (see the module docstring) in each mode, and print the
    delays per kind and per volume beside their bounds."""
    from anomalies.detection import DetectorConfig
    from anomalies.detection.calibration import nlp_of
    from anomalies.detection.episodes import SEVERITY_SCORES
    from anomalies.models import Channel

    # The series swing by half around their volume over the day (scan_seed.minute_rates): start at 23:02
    # UTC, so that the anomalies (15 to 70 minutes in) fall where each series runs at 0.9 to 1.0 of its
    # volume and the bands below mean what they say, whenever the bench is run. Another `hour` puts them
    # elsewhere on the swing (11: falling, from 1.13 to 0.98 of the volume).
    t0 = end.replace(hour=hour) + 2 * MINUTE
    injected = injected_anomalies(series, t0)
    # Seeded over a fixed span before t0: the same series and anomalies whatever the hour the bench runs at
    # (the random draws per series follow the number of minutes).
    realized: dict[int, np.ndarray] = {}
    project_id, volumes = seed_busy("Alert delay bench", series, t0 - timedelta(days=FAST_DAYS + 1),
                                    t0 + MINUTE * WINDOW_MINUTES, injected, realized)  # fmt: skip
    for severity in CHANNEL_SEVERITIES:
        Channel.objects.create(
            project_id=project_id, name=f"ops-{severity}", kind=Channel.Kind.WEBHOOK, target="http://127.0.0.1:9/",
            min_severity=severity,
        )  # fmt: skip
    budgets = {"info": DetectorConfig(300, "count").open_nlp, "warning": nlp_of(SEVERITY_SCORES[0])}
    bounds = {
        severity: {index: bound_minutes(kind, float(minute_rates(volumes[index], first, 1)[0]), nlp)
                   for index, (kind, first) in injected.items()}
        for severity, nlp in budgets.items()
    }  # fmt: skip
    # The same test on the counts as seeded: a 4x spike's minutes are Poisson draws of four times the
    # series' own draws, so some carry far less than four times the expected events.
    seen = {index: bound_minutes(kind, float(minute_rates(volumes[index], first, 1)[0]), budgets["info"],
                                 realized[index]) for index, (kind, first) in injected.items()}  # fmt: skip
    clean = [f"busy.{index}" for index in range(series) if index not in injected]
    bands = (("30-60/h", 30, 60), ("60-150/h", 60, 151), ("all", 0, 1e9))
    for mode in modes.split(","):
        started = time.perf_counter()
        opened, notified = simulate(project_id, t0, mode)
        print(f"\nminutes to alert, {MODES[mode]}: {series} busy series (30-150 events an hour), "
              f"{len(injected)} with an anomaly; {WINDOW_MINUTES} simulated minutes in "
              f"{time.perf_counter() - started:.0f} s. p50/p95 minutes from the first anomalous minute; bound: "
              f"one test at p = 1e-{budgets['info']:.0f} (open, info channel) or 1e-{budgets['warning']:.0f} "
              "(warning channel); data: that test on the anomaly's counts as seeded (n: reached in it)")  # fmt: skip
        print(f"{'kind':<6}{'volume':>9}{'n':>4} |{'open':>5}{'p50':>6}{'p95':>6}{'bound':>7}{'p95':>6}"
              f"{'data':>5}{'p50':>6}{'p95':>6} |"
              f"{'info':>5}{'p50':>6}{'p95':>6} |{'warn':>5}{'p50':>6}{'p95':>6}{'bound':>7}{'p95':>6}")  # fmt: skip
        for kind in ANOMALIES:
            for band, low, high in bands:
                chosen = [i for i, (k, _) in injected.items() if k == kind and low <= volumes[i] < high]
                cells = [f"{kind:<6}{band:>9}{len(chosen):>4} |"]
                for severity, delays in (("open", opened), *notified.items()):
                    delay = [(delays[f"busy.{i}"] - injected[i][1]) / MINUTE for i in chosen if f"busy.{i}" in delays]
                    cells.append(f"{len(delay):>5}{percentiles(delay)}")
                    if severity != "info":
                        bound = [bounds["info" if severity == "open" else severity][i] for i in chosen]
                        cells.append(f" {percentiles(bound)}")
                        if severity == "open":
                            data = [seen[i] for i in chosen]
                            cells.append(f"{sum(map(math.isfinite, data)):>5}{percentiles(data)}")
                        cells.append(" |")
                    else:
                        cells.append(" |")
                print("".join(cells).rstrip(" |"))
        false = sum(name in opened for name in clean)
        print(f"clean series: {len(clean)}, anomalies opened on them in {WINDOW_MINUTES} minutes: {false}")


def calibrate() -> None:
    """False opens of the minute checks (anomalies.detection.silence) on clean series, per five minutes, at
    thresholds low enough to be counted, against the share of the detector's p they are given
    (MINOR_WEIGHT): the ratio must stay at or under it. Poisson counts, then bursty ones (negative
    binomial, variance three times the mean) with the dispersion the scan would measure on them."""
    from anomalies.detection.silence import MINOR_WEIGHT, dispersion_of

    rng = np.random.default_rng(3)
    series, minutes = 300, 3000
    print(f"\nminute checks on clean series ({series} x {minutes} minutes per volume): false opens per "
          f"5 minutes / the threshold's p (designed: at most {MINOR_WEIGHT})")  # fmt: skip
    print(f"{'events/h':>9}{'counts':>9}{'disp.':>6}{'check':>10}" + "".join(f"{f'p=1e-{t}':>10}" for t in (1, 2, 3)))
    for per_hour, variance in ((15, 1), (30, 1), (60, 1), (150, 1), (60, 3), (150, 3)):
        rate = per_hour / 60
        if variance == 1:
            counts = rng.poisson(rate, size=(series, minutes))
        else:  # negative binomial of this mean and variance ratio
            size = rate / (variance - 1)
            counts = rng.negative_binomial(size, size / (size + rate), size=(series, minutes))
        buckets = counts[:, : minutes // 5 * 5].reshape(series, -1, 5).sum(axis=2).astype(float)
        dispersion = float(np.median([dispersion_of(row) for row in buckets]))
        label = f"{per_hour:>9}{'Poisson' if variance == 1 else 'NB':>9}{dispersion:>6.1f}"
        for check, ratios in false_open_ratios(counts, rate, dispersion).items():
            print(f"{label}{check:>10}" + "".join(f"{ratio:>10.3f}" for ratio in ratios))


def false_open_ratios(counts: np.ndarray, rate: float, dispersion: float) -> dict[str, list[float]]:
    """Per check, false opens per five minutes / the threshold's p at p = 1e-1, 1e-2, 1e-3."""
    from numpy.lib.stride_tricks import sliding_window_view

    from anomalies.detection.silence import minute_evidence

    windows = sliding_window_view(counts, 60, axis=1)
    rows, steps, _ = windows.shape
    cells = rows * steps
    evidence = minute_evidence(windows.reshape(cells, 60), np.full(cells, rate), np.full(cells, dispersion))
    nlp, kind = evidence.nlp.reshape(rows, steps), evidence.kind.reshape(rows, steps)
    found = {}
    for check in ("flatline", "drop", "spike"):
        found[check] = []
        for threshold in (1, 2, 3):
            above = (nlp >= threshold) & (kind == check)
            opens = np.count_nonzero(above[:, 1:] & ~above[:, :-1])
            found[check].append(opens / (rows * (steps - 1) / 5) / 10.0**-threshold)
    return found


def calibrate_swing() -> None:
    """The same false opens on clean Poisson series that swing by half over the day (as bench/scan_seed.py's),
    each starting at a random hour, judged with the rate the scan gives the checks: the detector's
    expectation of the latest bucket (main), or anomalies.detection.minute_rate's estimate and its variance
    where this checkout has it. The constant-rate table above gives the checks the true rate."""
    from anomalies.detection.silence import MINOR_WEIGHT

    try:
        from anomalies.detection import minute_rate
    except ImportError:  # a checkout from before it
        minute_rate = None
    rng = np.random.default_rng(5)
    series, history_days, minutes = 40, 8, 3000
    sources = ("detector", "estimate") if minute_rate else ("detector",)
    print(f"\nminute checks on clean series swinging by half over the day ({series} x {minutes} minutes per volume, "
          f"after {history_days} days): false opens per 5 minutes / the threshold's p (designed: at most "
          f"{MINOR_WEIGHT})")  # fmt: skip
    print(f"{'events/h':>9}{'rate':>10}{'check':>10}" + "".join(f"{f'p=1e-{t}':>10}" for t in (1, 2)))
    for per_hour in (30, 60, 150):
        found = {source: {} for source in sources}
        for _ in range(series):
            counts, buckets = swinging_series(rng, per_hour, history_days * 1440 + minutes)
            start = history_days * 1440
            for source in sources:
                for check, opens in swing_opens(counts, buckets, start, source).items():
                    found[source][check] = found[source].get(check, np.zeros(2)) + np.array(opens)
        periods = series * (minutes - 60) / 5
        for source in sources:
            for check, opens in found[source].items():
                ratios = [opens[index] / periods / 10.0**-threshold for index, threshold in enumerate((1, 2))]
                print(f"{per_hour:>9}{source:>10}{check:>10}" + "".join(f"{ratio:>10.3f}" for ratio in ratios))


def swinging_series(rng: np.random.Generator, per_hour: float, minutes: int) -> tuple[np.ndarray, np.ndarray]:
    """Poisson minute counts swinging by half over the day from a random hour, and their five-minute sums."""
    phase = rng.uniform(0, 2 * np.pi)
    rate = per_hour / 60 * (1 + 0.5 * np.sin(np.arange(minutes) / 1440 * 2 * np.pi + phase))
    counts = rng.poisson(rate)
    return counts, counts.reshape(-1, 5).sum(axis=1).astype(float)


def swing_opens(counts: np.ndarray, buckets: np.ndarray, start: int, source: str) -> dict[str, list[int]]:
    """Per check, false opens at p = 1e-1 and 1e-2 over the minutes from `start` (a multiple of five), each
    minute judged as the minute checks do with the rate the scan of the latest complete bucket gave."""
    from numpy.lib.stride_tricks import sliding_window_view

    from anomalies.detection import DetectorConfig, score_latest
    from anomalies.detection.silence import dispersion_of, minute_evidence

    first_bucket = start // 5
    judged = np.arange(start + 60, len(counts) + 1)  # the minutes' ends: each reads the 60 minutes before it
    latest = (judged - 1) // 5 - 1  # the last complete bucket when the minute is read, its minute inside the next
    if source == "detector":
        times = np.arange(len(buckets)) * 300.0
        expected = score_latest(times, buckets, DetectorConfig(300, "count"), points=len(buckets) - first_bucket + 1)
        rates = np.nan_to_num(expected.expected, nan=0.0)[latest - (len(buckets) - len(expected.expected))] / 5
        variances = np.zeros(len(judged))
    else:
        from anomalies.detection.minute_rate import minute_rate

        estimates = {b: minute_rate(buckets[: b + 1], 300, dispersion_of(buckets[: b + 1])) for b in set(latest)}
        rates = np.array([estimates[b][0] for b in latest])
        variances = np.array([estimates[b][1] for b in latest])
    dispersions = np.array([dispersion_of(buckets[: b + 1]) for b in latest])
    windows = sliding_window_view(counts, 60)[judged - 60]
    if source == "detector":
        evidence = minute_evidence(windows, rates, dispersions)
    else:  # the minutes the estimate has not read: from SKIP_MINUTES before its history's end (anomalies.minutes)
        from anomalies.detection.minute_rate import SKIP_MINUTES

        unseen = judged - (latest + 1) * 5 + SKIP_MINUTES
        try:
            evidence = minute_evidence(windows, rates, dispersions, variances, unseen)
        except TypeError:  # a checkout from before the silence read them
            evidence = minute_evidence(windows, rates, dispersions, variances)
    found = {}
    for check in ("flatline", "drop", "spike"):
        found[check] = []
        for threshold in (1, 2):
            above = (evidence.nlp >= threshold) & (evidence.kind == check)
            found[check].append(int(np.count_nonzero(above[1:] & ~above[:-1])))
    return found
