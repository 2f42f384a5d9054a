"""The statistics behind "significant" and "started": known values and constructed series."""

import math

import numpy as np
import pytest

from flux.insights import stats

HOURS_OF_DAY = [hour % 24 for hour in range(336)]


@pytest.mark.parametrize(
    ("t", "df", "p_value"), [(2.0, 10, 0.073388), (2.228139, 10, 0.05), (1.0, 1, 0.5), (3.0, 100, 0.003408)]
)
def test_student_t_two_sided_p_values_match_tables(t: float, df: float, p_value: float) -> None:
    assert stats.t_two_sided(t, df) == pytest.approx(p_value, abs=1e-6)


def test_the_normal_tail_matches_tables() -> None:
    assert stats.normal_sf(1.959964) == pytest.approx(0.025, abs=1e-7)


def test_the_exact_binomial_test_doubles_the_smaller_tail() -> None:
    assert stats.binomial_two_sided(0, 12) == pytest.approx(2 * 0.5**12)
    assert stats.binomial_two_sided(3, 18) == pytest.approx(2 * sum(math.comb(18, k) for k in range(4)) / 2**18)
    assert stats.binomial_two_sided(9, 18) == 1.0


def test_counts_within_poisson_noise_are_not_a_change() -> None:
    assert not stats.count_change(1010, 1003).significant
    assert not stats.count_change(10_300, 10_000).significant  # 3%, but p = 0.036


def test_counts_beyond_poisson_noise_are_a_change() -> None:
    verdict = stats.count_change(1234, 1003)
    assert verdict.significant
    assert verdict.p_value < 1e-5


def test_small_counts_use_the_exact_test() -> None:
    assert stats.count_change(15, 3).p_value == pytest.approx(stats.binomial_two_sided(3, 18))
    assert stats.count_change(0, 0) == stats.Verdict(1.0, False)


def test_burstier_than_poisson_counts_need_a_bigger_change() -> None:
    bursty = [5, 80, 10, 70, 0, 90, 20, 60, 5, 85] * 10
    factor = stats.dispersion(bursty)
    assert factor > 10
    assert stats.count_change(4700, 4300).significant
    assert not stats.count_change(4700, 4300, factor).significant


def test_poisson_counts_have_no_extra_dispersion() -> None:
    counts = np.random.default_rng(7).poisson(40, 300)
    assert stats.dispersion(counts) == pytest.approx(1.0, abs=0.3)


def test_welch_sees_a_shift_of_hourly_values_and_not_noise() -> None:
    rng = np.random.default_rng(3)
    assert stats.welch(rng.normal(10, 1, 24), rng.normal(13, 1, 24)).significant
    assert not stats.welch(rng.normal(10, 1, 24), rng.normal(10, 1, 24)).significant


def test_welch_on_noiseless_values_is_decided_by_the_means() -> None:
    assert stats.welch([5.0] * 10, [5.0] * 10) == stats.Verdict(1.0, False)
    assert stats.welch([5.0] * 10, [6.0] * 10) == stats.Verdict(0.0, True)


def test_a_step_is_found_where_it_happens_with_the_levels_around_it() -> None:
    counts = np.random.default_rng(1).poisson([40] * 250 + [52] * 86)
    point = stats.change_point(counts, HOURS_OF_DAY)
    assert point is not None
    assert point.index == 250
    assert point.before == pytest.approx(40, abs=1.5)
    assert point.after == pytest.approx(52, abs=1.5)


def test_a_step_is_found_on_top_of_a_daily_pattern() -> None:
    hours = np.arange(336)
    rate = 40 * (1 + 0.5 * np.sin(2 * np.pi * (hours - 8) / 24)) * np.where(hours >= 250, 1.3, 1.0)
    point = stats.change_point(np.random.default_rng(2).poisson(rate), HOURS_OF_DAY)
    assert point is not None
    assert abs(point.index - 250) <= 2


def test_a_daily_pattern_alone_is_no_change() -> None:
    hours = np.arange(336)
    rate = 40 * (1 + 0.5 * np.sin(2 * np.pi * (hours - 8) / 24))
    assert stats.change_point(np.random.default_rng(4).poisson(rate), HOURS_OF_DAY) is None


def test_noise_alone_is_no_change() -> None:
    assert stats.change_point(np.random.default_rng(5).poisson(40, 336), HOURS_OF_DAY) is None


def test_a_steady_drift_has_no_single_start() -> None:
    ramp = np.random.default_rng(6).poisson(np.linspace(30, 58, 336))
    assert stats.change_point(ramp, HOURS_OF_DAY) is None


def test_a_drop_in_a_noiseless_series_is_exact() -> None:
    point = stats.change_point([40.0] * 30 + [25.0] * 18)
    assert point is not None
    assert (point.index, point.before, point.after) == (30, 40.0, 25.0)
    assert point.p_value < 1e-100


def test_too_short_a_series_has_no_change_point() -> None:
    assert stats.change_point([1.0, 1.0, 9.0, 9.0, 9.0]) is None
