"""Percent changes as pages show them: none without a baseline or from too small a one."""

from flux.query.compare import percent_change, shown_percent_change


def test_a_percent_change_needs_a_baseline() -> None:
    assert percent_change(150, 100) == 50.0
    assert percent_change(5, 0) is None and percent_change(None, 3) is None


def test_a_base_under_five_percent_of_the_current_value_gives_no_percentage() -> None:
    assert shown_percent_change(1000, 49) is None  # would read +1,941%
    assert shown_percent_change(1000, 50) == 1900.0
    assert shown_percent_change(-1000, 10) is None
    assert shown_percent_change(10, 1000) == -99.0  # a fall to almost nothing is still a percentage
    assert shown_percent_change(0, 0) is None
