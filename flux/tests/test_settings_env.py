"""Settings read from the environment: a value that cannot be meant is refused at start, naming it."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from flux.settings.env import env_int


def test_a_negative_count_or_duration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """FLUX_ROLLUP_DAY_DAYS=-1 was taken as it was, and the next retention run deleted every day rollup."""
    monkeypatch.setenv("FLUX_ROLLUP_DAY_DAYS", "-1")
    with pytest.raises(ImproperlyConfigured, match="FLUX_ROLLUP_DAY_DAYS must be 0 or more, got -1"):
        env_int("FLUX_ROLLUP_DAY_DAYS", 0)
    monkeypatch.setenv("FLUX_MAX_BATCH_ITEMS", "0")
    with pytest.raises(ImproperlyConfigured, match="FLUX_MAX_BATCH_ITEMS must be 1 or more"):
        env_int("FLUX_MAX_BATCH_ITEMS", 1000, minimum=1)


def test_an_unset_or_empty_value_is_the_default_and_a_valid_one_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLUX_CSV_MAX_ROWS", raising=False)
    assert env_int("FLUX_CSV_MAX_ROWS", 100) == 100
    monkeypatch.setenv("FLUX_CSV_MAX_ROWS", "")
    assert env_int("FLUX_CSV_MAX_ROWS", 100) == 100
    monkeypatch.setenv("FLUX_CSV_MAX_ROWS", "0")
    assert env_int("FLUX_CSV_MAX_ROWS", 100) == 0
