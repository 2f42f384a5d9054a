"""Minute evidence of a busy count series going quiet (a stop or a drop) or surging (a spike), judged
every minute from the minutes completed since, instead of waiting for whole five-minute buckets. Pure
(numpy only).

Each series comes with its expected events a minute (`rate`: the same time of day on previous days at
today's level, anomalies.detection.minute_rate, or for a series too young for that the detector's
expectation of its latest bucket), the rate's relative variance (0 for the latter), and a dispersion
(how much wider than Poisson its bucket counts scatter, >= 1); its minute counts are a row of a
matrix, oldest minute first, the last column the last complete minute. The rate's variance is paid
for: a silence's probability is that of a rate drawn around the estimate (silence_nats), a drop's
likelihood ratio is that of counts from such a rate (drop_log_ratio), and a spike window's count spreads
by its square as well (trailing_evidence).

- Silence: P(no event in t minutes) = exp(-rate * t), a calibrated tail probability (its -ln divided
  by the dispersion, as the bucket flatline detector does). Tested every minute, a run of silence
  reaches length t about once per gap between events, so the chance of a false opening per five
  minutes is 5 * (1 - exp(-rate)) times that p: the threshold is raised by that factor. The rate is
  first updated by the events of the minutes before the silence that its estimate has not read
  (`unseen`: a gamma update, updated_rate), so the silence's p is the predictive one given them.
- Drop: a CUSUM of the rate falling. For each trailing stretch (every length up to the minutes given,
  the drop's possible starts), the likelihood ratio of its count under a fall of the rate to each of
  DROP_RATIOS (a half, a third, a fifth), averaged over them, against no fall (drop_log_ratio); the
  largest is the CUSUM statistic, and its stretch is when the drop began. From each start, that ratio is
  a martingale of mean 1 while nothing falls, so it ever reaches 10^L with probability at most 10^-L
  (Ville's inequality; the average over the ratios keeps that, where their maximum would pay for three
  tests): with a new start each minute, at most five stretches per five minutes (on average) ever
  cross at that p. Measured on clean series (bench/drop_tests.py: Poisson and negative binomial, 30 to
  1,500 events an hour, the rate exact or drawn around the estimate, L from 1 to 4.5), the statistic
  crosses 10^L at most 1.5 times 10^-L per five minutes (the stretches overlap: one that crosses takes
  its neighbours' starts with it, and most starts are never the largest stretch): the
  threshold pays for DROP_TESTS, a margin over that and under the bound. The drop must still hold:
  its last DROP_HOLD minutes must be low on their own.
- Spike: the upper tail of the count in each trailing window of SPIKE_WINDOWS minutes, paid for as
  SPIKE_TESTS tests per five minutes (measured the same way, on Poisson and on bursty negative binomial
  series), while its last SPIKE_HOLD minutes are high on their own. The windows stop at 15 minutes: the
  expected rate is the detector's for the latest complete bucket, and a longer window would read a
  daily ramp as a surge.
- Dispersion: silence divides its -ln by it, and drop its counts and expected counts (a wider spread,
  weaker evidence; conservative for a shortfall: for negative binomial counts of that variance, the
  Poisson ratio so scaled is a supermartingale, so the bound above still holds). A surge cannot be
  judged so: far out, a negative binomial's upper tail falls geometrically where the Poisson one falls
  faster, and the Poisson -ln over the dispersion called bursts of bursty traffic surges up to fifteen
  times too often; the spike check reads the negative binomial tail of that variance (with a margin,
  SPIKE_DISPERSION_MARGIN). Traffic burstier still (heavy tails, bursts over several minutes) is the
  detector's to judge by rank.

All three carry the weight of one of the detector's minor detectors (a tenth of the opening p, as the
bucket flatline and level-shift detectors), so the thresholds hold per five minutes of data like the
detector's own, and the score means what the detector's score means (calibration.score_of).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .calibration import LN10, score_of
from .localtime import UTC_CLOCK, Clock
from .minute_rate import minute_rate
from .robust import Floats

MINOR_WEIGHT = 0.1  # as each of the detector's flatline, level-shift and trend detectors
TESTS_PER_FIVE_MINUTES = 5
DROP_RATIOS = np.array([1 / 2, 1 / 3, 1 / 5])  # the falls the drop check weighs, alike
DROP_HOLD = 5  # minutes at the end of a drop that must be low on their own...
HOLD_P = 0.1  # ...at this lower-tail probability (a drop that ended is not reported again)


@dataclass(frozen=True)
class MinuteEvidence:
    """Per series: the evidence as the detector's -log10 p (already paid for its tests), the kind
    (flatline, drop, spike or ""), its direction, and how many minutes back the stretch began."""

    nlp: Floats
    kind: np.ndarray
    minutes: np.ndarray
    direction: np.ndarray

    def score(self) -> Floats:
        return score_of(np.maximum(self.nlp, 0.0))


def silence_cost(rate: Floats) -> Floats:
    """Decades the silence threshold is raised: the weight, and one test per gap between events. Never
    lowered: under 1.2 events an hour expected (a tenth of a gap per five minutes) the count of gaps made
    the cost negative, so a silence that was no evidence at all (nothing expected: p = 1) opened a flatline."""
    gaps_per_five_minutes = TESTS_PER_FIVE_MINUTES * -np.expm1(-np.maximum(rate, 0.0))
    return np.maximum(-math.log10(MINOR_WEIGHT) + np.log10(np.maximum(gaps_per_five_minutes, 1e-12)), 0.0)


DROP_TESTS = 2.5  # false crossings per five minutes at p, paid for (measured: at most 1.5; module docstring)
DROP_COST = -math.log10(MINOR_WEIGHT) + math.log10(DROP_TESTS)
SPIKE_WINDOWS = (1, 2, 3, 5, 10, 15)
SPIKE_HOLD = 2  # minutes at the end of a spike window that must be high on their own (HOLD_P)
SPIKE_TESTS = 15  # effective tests per five minutes of the spike windows (bench/anomaly_scan.py --calibrate)
SPIKE_COST = -math.log10(MINOR_WEIGHT) + math.log10(SPIKE_TESTS)
# The spike check reads a series' excess dispersion as this much more than measured: dispersion_of leaves
# out the largest 1% of changes (one burst must not make a series look dispersed for a day), so it reads
# bursty counts as about a tenth less dispersed than they are, and an upper tail fitted on that, about
# twice too many surges (bench/alert_delay.py --calibrate: negative binomial series).
SPIKE_DISPERSION_MARGIN = 1.5
# Below this many expected events a minute (a busy series in its nightly trough) a few events are no
# Poisson surge worth calling: the detector judges them by rank.
MIN_SPIKE_RATE = 0.25


def trailing_zeros(counts: np.ndarray) -> np.ndarray:
    """Per row, how many of the last columns are 0."""
    nonzero = counts[:, ::-1] != 0
    first = np.argmax(nonzero, axis=1)
    return np.where(nonzero.any(axis=1), first, counts.shape[1])


EXACT_COUNT = 256  # lower tails of counts up to this are summed exactly, larger ones bounded
_LOG_FACTORIAL = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, EXACT_COUNT + 1)))])


def poisson_lower_nats(observed: np.ndarray, mean: Floats) -> Floats:
    """-ln P(N <= observed) for N ~ Poisson(mean), elementwise: 0 from the mean up (no shortfall), exact
    (terms summed in logs) for counts up to EXACT_COUNT, and for larger ones the Chernoff bound
    mean - k + k ln(k / mean), never more than the exact value (so never more evidence than there is)."""
    observed, mean = np.broadcast_arrays(np.asarray(observed, dtype=np.int64), np.asarray(mean, dtype=np.float64))
    mean = np.maximum(mean, 1e-12)
    short = observed < mean
    exact = short & (observed <= EXACT_COUNT)
    k = np.maximum(observed, 0).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        nats = np.where(short, mean - k + np.where(k > 0, k * np.log(k / mean), 0.0), 0.0)
    if exact.any():
        counts, means = observed[exact], mean[exact]
        log_mean, total = np.log(means), np.full(len(counts), -np.inf)
        for j in range(int(counts.max(initial=0)) + 1):
            total = np.where(j <= counts, np.logaddexp(total, -means + j * log_mean - _LOG_FACTORIAL[j]), total)
        nats[exact] = -total
    return np.maximum(nats, 0.0)


def log_factorial(k: np.ndarray) -> Floats:
    """ln k! elementwise: the table up to EXACT_COUNT, Stirling's series beyond (error under 1e-9)."""
    k = np.maximum(np.asarray(k, dtype=np.int64), 0)
    small = k <= EXACT_COUNT
    x = np.maximum(k, 1).astype(np.float64)
    stirling = x * np.log(x) - x + 0.5 * np.log(2 * math.pi * x) + 1 / (12 * x) - 1 / (360 * x**3)
    return np.where(small, _LOG_FACTORIAL[np.minimum(k, EXACT_COUNT)], stirling)


def poisson_upper_nats(observed: np.ndarray, mean: Floats) -> Floats:
    """-ln P(N >= observed) for N ~ Poisson(mean), elementwise: 0 up to the mean (no excess); above it,
    -ln of P(N = k) / (1 - mean / (k + 1)), a bound of the tail from above (the terms from k on fall at
    least geometrically, by mean / (k + 1)), so never more evidence than there is, and within
    -ln(1 - mean / (k + 1)) of the exact value."""
    observed, mean = np.broadcast_arrays(np.asarray(observed, dtype=np.int64), np.asarray(mean, dtype=np.float64))
    mean = np.maximum(mean, 1e-12)
    k = np.maximum(observed, 0)
    above = k > mean
    ratio = np.where(above, mean / (k + 1.0), 0.0)
    log_tail = -mean + k * np.log(mean) - log_factorial(k) - np.log1p(-ratio)
    return np.where(above, np.maximum(-log_tail, 0.0), 0.0)


Tail = Callable[[np.ndarray, Floats, Floats], Floats]  # (observed, expected, dispersion) -> -ln p


def trailing_evidence(
    cumulative: np.ndarray,
    rate: Floats,
    spread: Floats,
    variance: Floats,
    tail: Tail,
    windows: tuple[int, ...],
    hold: int,
    cost: float,
) -> tuple[Floats, np.ndarray]:
    """Per row, the best of the trailing windows' tail evidence (decades, less `cost`) and its window,
    -inf where the last `hold` minutes are not unusual on their own (p >= HOLD_P). A window's count
    spreads by `spread` times its expected count, and by the rate's own relative `variance` times its
    square (a count whose mean is itself uncertain: variance mean x spread + mean^2 x variance)."""
    rows, width = cumulative.shape[0], cumulative.shape[1] - 1
    hold = min(hold, width)
    held = tail(cumulative[:, hold], rate * hold, spread + rate * hold * variance) >= -math.log(HOLD_P)
    best, best_window = np.full(rows, -np.inf), np.zeros(rows, dtype=np.int64)
    for window in windows:
        if window > width:
            break
        widened = spread + rate * window * variance
        evidence = np.where(held, tail(cumulative[:, window], rate * window, widened) / LN10 - cost, -np.inf)
        better = evidence > best
        best, best_window = np.where(better, evidence, best), np.where(better, window, best_window)
    return best, best_window


def dispersed_lower_nats(observed: np.ndarray, mean: Floats, dispersion: Floats) -> Floats:
    """The Poisson lower tail's -ln over the dispersion: a wider spread, weaker evidence of a shortfall
    (conservative for negative binomial counts: their lower tail is lighter than that)."""
    return poisson_lower_nats(observed, mean) / dispersion


def log_gamma(x: Floats) -> Floats:
    """ln Gamma(x) elementwise for x > 0: Stirling's series from 8 up, the recurrence below (error < 1e-10)."""
    x = np.asarray(x, dtype=np.float64)
    shift = np.where(x < 8, 8.0, 0.0)
    y = x + shift
    series = (y - 0.5) * np.log(y) - y + 0.5 * math.log(2 * math.pi) + 1 / (12 * y) - 1 / (360 * y**3)
    below = np.zeros_like(x)
    for step in range(8):
        below += np.where(shift > 0, np.log(x + step), 0.0)
    return series + 1 / (1260 * y**5) - below


def upper_nats(observed: np.ndarray, mean: Floats, dispersion: Floats) -> Floats:
    """-ln P(N >= observed) for N of this mean and variance `dispersion` x mean: Poisson at dispersion 1,
    else negative binomial (size mean / (dispersion - 1)), whose tail falls geometrically where the
    Poisson one falls faster: dividing the Poisson -ln by the dispersion would call ordinary bursts of
    bursty traffic surges. Bounded from above like poisson_upper_nats: P(N = k) / (1 - the largest ratio
    of a term to the one before from k on), so never more evidence than there is."""
    observed, mean, dispersion = np.broadcast_arrays(
        np.asarray(observed, dtype=np.int64), np.asarray(mean, dtype=np.float64), np.asarray(dispersion, dtype=float)
    )
    poisson = poisson_upper_nats(observed, mean)
    wide = dispersion > 1.0 + 1e-6
    if not wide.any():
        return poisson
    mean = np.maximum(mean, 1e-12)
    size = np.maximum(mean / np.maximum(dispersion - 1.0, 1e-6), 1e-300)
    k = np.maximum(observed, 0).astype(np.float64)
    # In logs of their ratio: with a size far below the mean (a rate whose variance is huge), size + mean
    # rounds to the mean, and ln(1 - p) to 0, and ln p to -inf.
    log_ratio = np.log(mean) - np.log(size)
    log_q = -np.logaddexp(0.0, -log_ratio)  # ln(1 - p), p = size / (size + mean)
    log_p = -np.logaddexp(0.0, log_ratio)
    log_term = log_gamma(k + size) - log_gamma(size) - log_factorial(observed) + size * log_p
    log_term += k * log_q
    ratio = np.exp(log_q) * np.maximum((k + size) / (k + 1.0), 1.0)
    above = (k > mean) & (ratio < 1.0)
    nb = np.where(above, np.maximum(-(log_term - np.log1p(-np.minimum(ratio, 1 - 1e-12))), 0.0), 0.0)
    return np.where(wide, nb, poisson)


def drop_log_ratio(observed: Floats, expected: Floats, variance: Floats) -> Floats:
    """ln of the likelihood ratio of a fall of the rate to each of DROP_RATIOS, averaged over them, against
    no fall, for `observed` events where `expected` were (elementwise): N ln r + (a + N) ln((a + mu) /
    (a + r mu)) per ratio r, the rate known to a relative `variance` (a gamma of that spread around it, the
    same under both, integrated out; a = 1 / variance), N ln r + mu (1 - r) when it is exact."""
    support = 1.0 / np.maximum(variance, 1e-12)
    n, mu, a = observed[..., None], expected[..., None], support[..., None]
    per_ratio = n * np.log(DROP_RATIOS) + (a + n) * np.log1p(mu * (1 - DROP_RATIOS) / (a + DROP_RATIOS * mu))
    top = per_ratio.max(axis=-1)
    return top + np.log(np.exp(per_ratio - top[..., None]).mean(axis=-1))


def drop_evidence(
    cumulative: np.ndarray, rate: Floats, dispersion: Floats, variance: Floats
) -> tuple[Floats, np.ndarray]:
    """Per row, the drop's likelihood ratio in decades (before its cost) and the minutes it has lasted: the
    largest drop_log_ratio over the trailing stretches of every length (the CUSUM statistic, its starts
    within the minutes given), counts and expected counts over the dispersion; -inf while the last
    DROP_HOLD minutes are not low on their own (a drop that ended is not reported again)."""
    width = cumulative.shape[1] - 1
    expected = rate[:, None] * np.arange(1, width + 1)
    ratios = drop_log_ratio(cumulative[:, 1:] / dispersion[:, None], expected / dispersion[:, None], variance[:, None])
    hold = min(DROP_HOLD, width)
    low = dispersed_lower_nats(cumulative[:, hold], rate * hold, dispersion + rate * hold * variance)
    held = low >= -math.log(HOLD_P)
    return np.where(held, ratios.max(axis=1) / LN10, -np.inf), np.argmax(ratios, axis=1) + 1


def updated_rate(
    rate: Floats, variance: Floats, events: Floats, minutes: Floats, dispersion: Floats
) -> tuple[Floats, Floats]:
    """(rate, relative variance) of a rate known to a relative `variance` (a gamma of shape N = 1 / variance
    around it) once `events` are seen in `minutes` it was not estimated from: the gamma's update, shape
    N + events and rate N / rate + minutes, counts and minutes over the dispersion (a wider spread, less
    to learn from them). An exact rate (variance 0) stays as it is."""
    support = 1.0 / np.maximum(variance, 1e-12)
    shape = support + events / dispersion
    updated = rate * shape / np.maximum(support + rate * minutes / dispersion, 1e-300)
    return np.where(variance > 0, updated, rate), np.where(variance > 0, 1.0 / shape, 0.0)


def silence_nats(rate: Floats, quiet: np.ndarray, variance: Floats) -> Floats:
    """-ln P(no event in `quiet` minutes) when the rate is known to a relative `variance` (a gamma of that
    spread around it): N ln(1 + rate x quiet / N), N = 1 / variance; rate x quiet when it is exact."""
    expected = rate * quiet
    support = 1.0 / np.maximum(variance, 1e-12)
    return np.where(variance > 0, support * np.log1p(expected / support), expected)


def minute_evidence(
    counts: np.ndarray,
    rate: Floats,
    dispersion: Floats,
    rate_variance: Floats | None = None,
    unseen: Floats | None = None,
) -> MinuteEvidence:
    """Silence, drop and spike evidence at the last column of each row (see the module docstring), the
    rates known to their relative `rate_variance` (anomalies.detection.minute_rate; 0: exact) from data
    that ends `unseen` minutes before the last column's end (None: at it)."""
    counts = np.nan_to_num(np.asarray(counts, dtype=np.float64)).round().astype(np.int64)
    rows = counts.shape[0]
    rate = np.maximum(np.asarray(rate, dtype=np.float64), 0.0)
    dispersion = np.maximum(np.asarray(dispersion, dtype=np.float64), 1.0)
    variance = np.zeros(rows) if rate_variance is None else np.maximum(np.asarray(rate_variance, dtype=float), 0.0)
    cumulative = np.concatenate([np.zeros((rows, 1), dtype=np.int64), np.cumsum(counts[:, ::-1], axis=1)], axis=1)
    quiet = trailing_zeros(counts)
    silence = silence_evidence(cumulative, quiet, rate, dispersion, variance, unseen)
    drop, drop_minutes = drop_evidence(cumulative, rate, dispersion, variance)
    drop -= DROP_COST
    spike, spike_minutes = trailing_evidence(
        cumulative,
        rate,
        1.0 + (dispersion - 1.0) * SPIKE_DISPERSION_MARGIN,
        variance,
        upper_nats,
        SPIKE_WINDOWS,
        SPIKE_HOLD,
        SPIKE_COST,
    )
    spike = np.where(rate >= MIN_SPIKE_RATE, spike, -np.inf)
    is_silence = (quiet > 0) & (silence >= drop)
    down = np.where(is_silence, silence, drop)
    is_spike = spike > down
    nlp = np.maximum(down, spike)
    found = np.isfinite(nlp) & (nlp > 0)
    kind = np.where(found, np.where(is_spike, "spike", np.where(is_silence, "flatline", "drop")), "")
    minutes = np.where(is_spike, spike_minutes, np.where(is_silence, quiet, drop_minutes))
    return MinuteEvidence(nlp, kind, minutes, np.where(found, np.where(is_spike, "up", "down"), ""))


def silence_evidence(
    cumulative: np.ndarray,
    quiet: np.ndarray,
    rate: Floats,
    dispersion: Floats,
    variance: Floats,
    unseen: Floats | None,
) -> Floats:
    """Per row, the silence's evidence in decades, less its cost: judged with the rate updated by the
    events of the minutes before the silence that the rate's estimate has not read (the silence itself
    never moves it)."""
    width = cumulative.shape[1] - 1
    read_from = quiet if unseen is None else np.clip(np.asarray(unseen, dtype=np.int64), quiet, width)
    events = np.take_along_axis(cumulative, read_from[:, None], axis=1)[:, 0]  # the silence's columns hold 0
    rate, variance = updated_rate(rate, variance, events, read_from - quiet, dispersion)
    return silence_nats(rate, quiet, variance) / dispersion / LN10 - silence_cost(rate)


def dispersion_of(counts: Floats, points: int = 288) -> float:
    """How much wider than Poisson the last `points` bucket counts scatter (>= 1): the mean square of
    their neighbour-to-neighbour changes (which a slow daily pattern barely moves) against the 2 x mean
    it has for Poisson counts. The largest 1% of changes are left out, so that one burst does not make
    a series look dispersed for a day. (A median of changes on the square-root scale reads even Poisson
    counts of two or three a bucket as a third more dispersed than they are: they move in steps.)"""
    recent = counts[-points:]
    recent = recent[np.isfinite(recent)]
    if len(recent) < 3 or recent.mean() <= 0:
        return 1.0
    squares = np.diff(recent) ** 2
    kept = squares[squares <= np.quantile(squares, 0.99)]
    return max(float(kept.mean()) / (2.0 * float(recent.mean())), 1.0)


def minute_baseline(
    expected: float, interval_seconds: int, counts: Floats, clock: Clock = UTC_CLOCK
) -> tuple[float | None, float, float]:
    """(expected events a minute, dispersion, the rate's relative variance) of a count series from its
    bucket counts (anomalies.detection.minute_rate: the same time on previous local days, at today's level),
    or, for a series too young for that, from its latest bucket's expected count, taken as exact as
    before; no rate while the detector has no expectation."""
    if not math.isfinite(expected):
        return None, 1.0, 0.0
    dispersion = dispersion_of(counts)
    estimate = minute_rate(counts, interval_seconds, dispersion, clock)
    if estimate is None:
        return expected * 60 / interval_seconds, dispersion, 0.0
    return estimate[0], dispersion, estimate[1]
