"""Is a change real? Tests for counts and for hourly values, and a single change point. Pure (numpy only).

- Counts: two Poisson counts over equal spans differ when, given their total n, the current count is
  unlikely under Binomial(n, 1/2) (the conditional binomial test): exact for n up to 1,000, normal
  with a continuity correction above. Real event streams are burstier than Poisson, so the variance
  is scaled by a dispersion factor read from the hour-to-hour differences (quasi-Poisson).
- Hourly values (metrics): Welch's t test on the hourly values of the two periods. Each hour counts as
  an independent value, so a gauge that wanders slowly (a random walk) reads as changed more readily
  than its noise deserves; a daily pattern only widens the spread, as both periods hold whole days.
- Change point: the split of an hourly series maximising the t statistic of the difference of the
  segment means, each segment at least MIN_SEGMENT hours (and a 16th of the series) long, on top of a
  daily pattern (24 h and 12 h harmonics of the local hour, fitted with the step) from two days of data
  on. It counts when its p-value, multiplied by the number of splits tried (Bonferroni), is below ALPHA,
  and when one step fits better than a straight line (otherwise the series drifted: no single start).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ALPHA = 0.01
EXACT_UP_TO = 1000
MIN_SEGMENT = 3
DAILY_PATTERN_FROM = 48  # hours: a daily pattern is told from a change only with two days or more


@dataclass(frozen=True)
class Verdict:
    p_value: float
    significant: bool


@dataclass(frozen=True)
class ChangePoint:
    index: int  # the first value after the change
    before: float  # mean of the values before it
    after: float  # mean of the values from it on
    p_value: float


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def binomial_two_sided(k: int, n: int) -> float:
    """Exact two-sided p-value of k successes in n fair trials (twice the smaller tail, at most 1)."""
    log_all = math.lgamma(n + 1) - n * math.log(2)
    tail = sum(math.exp(log_all - math.lgamma(i + 1) - math.lgamma(n - i + 1)) for i in range(min(k, n - k) + 1))
    return min(1.0, 2 * tail)


def dispersion(hourly_counts: Sequence[float]) -> float:
    """How much burstier than Poisson the counts are (at least 1): the robust variance of hour-to-hour
    differences over twice the mean (for Poisson counts, Var(x[i] - x[i-1]) = 2 * mean)."""
    counts = np.asarray(hourly_counts, dtype=float)
    if len(counts) < 8 or counts.mean() <= 0:
        return 1.0
    differences = np.diff(counts)
    spread = 1.4826 * float(np.median(np.abs(differences - np.median(differences))))
    return max(1.0, spread**2 / (2 * float(counts.mean())))


def count_change(current: int, previous: int, dispersion_factor: float = 1.0) -> Verdict:
    """Whether two counts over equal spans differ: the conditional binomial test (see the module)."""
    total = current + previous
    if total == 0:
        return Verdict(1.0, False)
    if total <= EXACT_UP_TO and dispersion_factor <= 1.0:
        p_value = binomial_two_sided(current, total)
    else:
        z = (abs(current - total / 2) - 0.5) / math.sqrt(dispersion_factor * total / 4)
        p_value = min(1.0, 2 * normal_sf(max(z, 0.0)))
    return Verdict(p_value, p_value < ALPHA)


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b), by its continued fraction (modified Lentz)."""
    if x <= 0 or x >= 1:
        return 0.0 if x <= 0 else 1.0
    if x > (a + 1) / (a + b + 2):  # the fraction converges fast only below this point
        return 1.0 - incomplete_beta(b, a, 1 - x)
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)) / a
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1) < 1e-12:
            break
    return front * result


def t_two_sided(t: float, df: float) -> float:
    """P(|T| > |t|) for Student's t with df degrees of freedom."""
    if math.isinf(t):
        return 0.0
    return incomplete_beta(df / 2, 0.5, df / (df + t * t))


def welch(previous: Sequence[float], current: Sequence[float]) -> Verdict:
    """Welch's t test of the hourly values of two periods (each hour taken as one independent value)."""
    a, b = np.asarray(previous, dtype=float), np.asarray(current, dtype=float)
    if len(a) < 2 or len(b) < 2:
        return Verdict(1.0, False)
    difference = float(b.mean() - a.mean())
    share_a, share_b = float(a.var(ddof=1)) / len(a), float(b.var(ddof=1)) / len(b)
    if share_a + share_b <= 1e-12 * max(1.0, float(np.abs(np.concatenate([a, b])).max()) ** 2):
        p_value = 1.0 if difference == 0 else 0.0  # no noise at all: any difference is real
        return Verdict(p_value, p_value < ALPHA)
    t = difference / math.sqrt(share_a + share_b)
    df = (share_a + share_b) ** 2 / (share_a**2 / (len(a) - 1) + share_b**2 / (len(b) - 1))
    p_value = t_two_sided(t, df)
    return Verdict(p_value, p_value < ALPHA)


def daily_terms(hours_of_day: Sequence[int] | None, n: int) -> np.ndarray:
    """Regressors of a level plus, from two days of data on, a daily pattern (24 h and 12 h harmonics)."""
    if hours_of_day is None or n < DAILY_PATTERN_FROM:
        return np.ones((n, 1))
    angle = 2 * np.pi * np.asarray(hours_of_day, dtype=float) / 24
    return np.column_stack([np.ones(n), np.sin(angle), np.cos(angle), np.sin(2 * angle), np.cos(2 * angle)])


def change_point(values: Sequence[float], hours_of_day: Sequence[int] | None = None) -> ChangePoint | None:
    """The single most likely level change in an hourly series, if it is significant (see the module)."""
    raw = np.asarray(values, dtype=float)
    n = len(raw)
    shortest = max(MIN_SEGMENT, n // 16)
    terms = daily_terms(hours_of_day, n)
    if n < 2 * shortest or n <= terms.shape[1] + 2:
        return None
    # Each split k adds a step (0 before k, 1 from k on) to the daily model; by Frisch-Waugh-Lovell its
    # coefficient comes from the parts of the series and of the step the daily model leaves unexplained.
    residuals = raw - terms @ np.linalg.lstsq(terms, raw, rcond=None)[0]
    splits = np.arange(shortest, n - shortest + 1)
    tail_residuals = np.cumsum(residuals[::-1])[::-1][splits]
    tail_terms = np.cumsum(terms[::-1], axis=0)[::-1][splits]
    step_size = (n - splits) - np.einsum("ij,jk,ik->i", tail_terms, np.linalg.inv(terms.T @ terms), tail_terms)
    unexplained = (residuals @ residuals - tail_residuals**2 / step_size).clip(min=0.0)
    freedom = n - terms.shape[1] - 1
    scale = max(1.0, float(np.abs(raw).max())) ** 2
    t = np.abs(tail_residuals) / np.sqrt(np.maximum(unexplained / freedom, 1e-12 * scale) * step_size)
    best = int(np.argmax(t))
    p_value = min(1.0, t_two_sided(float(t[best]), freedom) * len(splits))
    if p_value >= ALPHA or unexplained[best] >= line_error(raw, terms):
        return None
    split = int(splits[best])
    return ChangePoint(split, float(raw[:split].mean()), float(raw[split:].mean()), p_value)


def line_error(series: np.ndarray, terms: np.ndarray) -> float:
    """What a straight line (on top of the daily model) leaves unexplained: a drift, not a step."""
    with_line = np.column_stack([terms, np.arange(len(series), dtype=float)])
    residuals = series - with_line @ np.linalg.lstsq(with_line, series, rcond=None)[0]
    return float(residuals @ residuals)
