"""The state a watch stores between scans, as packed (anomalies.carry): stamped with the detector version,
read back only by a scan of that version, and never misread or raised on when it is cut short or corrupt."""

from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from anomalies import carry
from anomalies.carry import Unreadable, pack, pack_fits, stored_version, unpack, unpack_fits, zone_key
from anomalies.detection import DETECTOR_VERSION, Carry, DetectorConfig, FitCache, score_incremental
from anomalies.tests.test_detection_series import daily_counts

ZONE = "Europe/Berlin"


@pytest.fixture(scope="module")
def state() -> tuple[Carry, FitCache, datetime]:
    """A five-minute count series' carry and fits, as a scan stores them, and where the carry ends."""
    times, values = daily_counts(days=10, interval=300, per_hour=120)
    fits = FitCache()
    _, carried = score_incremental(times, values, DetectorConfig(300, "count", timezone=ZONE), 1, None, fits)
    return carried, fits, datetime.fromtimestamp(float(times[-1]) + 300, tz=UTC)


def packed(
    state: tuple[Carry, FitCache, datetime], version: int, monkeypatch: pytest.MonkeyPatch
) -> tuple[bytes, bytes]:
    carried, fits, end = state
    with monkeypatch.context() as patched:
        patched.setattr(carry, "DETECTOR_VERSION", version)
        return pack(carried, end, 300, "medium", ZONE), pack_fits(fits, 300, "count", ZONE)


def test_version_1_stores_the_header_stored_before_versions(state: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    """State of the detector before versions were recorded is version 1's: no watch rebuilds on this upgrade."""
    stored_carry, stored_fits = packed(state, 1, monkeypatch)
    end = state[2]
    assert list(np.frombuffer(stored_carry, dtype="<f8", count=3)) == [end.timestamp(), 300, 1 + 3 * zone_key(ZONE)]
    assert np.frombuffer(stored_fits, dtype="<f8", count=3)[2] == 0 + 2 * (1 + 2 * zone_key(ZONE))
    assert stored_version(stored_carry) == 1


@pytest.mark.parametrize(("stored", "reading"), [(1, 2), (2, 1), (2, 3)])  # an upgrade, and a worker not upgraded yet
def test_state_of_another_detector_version_is_not_continued(
    state: tuple, stored: int, reading: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored_carry, stored_fits = packed(state, stored, monkeypatch)
    monkeypatch.setattr(carry, "DETECTOR_VERSION", reading)
    assert stored_version(stored_carry) == stored
    assert unpack(stored_carry, state[2], 300, "medium", ZONE) is None
    assert unpack_fits(stored_fits, 300, "count", ZONE).blocks == {}
    monkeypatch.setattr(carry, "DETECTOR_VERSION", stored)
    assert unpack(stored_carry, state[2], 300, "medium", ZONE) is not None
    assert unpack_fits(stored_fits, 300, "count", ZONE).blocks


def test_state_of_another_version_laid_out_otherwise_is_left_out_not_misread(
    state: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A later version may carry another field per point, or fit other numbers per block: only the header
    is compared, so such state is not continued, where the same bytes of this version are unreadable."""
    _, fits, end = state
    wider = {key: replace(item, profile=np.append(item.profile, [0.5, 0.5])) for key, item in fits.blocks.items()}
    stored_carry, wider_fits = packed((state[0], FitCache(wider, fits.trends), end), DETECTOR_VERSION + 1, monkeypatch)
    points = (len(stored_carry) - 24) // 18
    wider_carry = stored_carry[: 24 + 16 * points] + bytes(8 * points) + stored_carry[24 + 16 * points :]
    assert unpack(wider_carry, end, 300, "medium", ZONE) is None
    assert unpack_fits(wider_fits, 300, "count", ZONE).blocks == {}
    monkeypatch.setattr(carry, "DETECTOR_VERSION", DETECTOR_VERSION + 1)
    with pytest.raises(Unreadable):
        unpack(wider_carry, end, 300, "medium", ZONE)
    with pytest.raises(Unreadable):
        unpack_fits(wider_fits, 300, "count", ZONE)


def corrupt(data: bytes, at: int, value: float | int, dtype: str) -> bytes:
    numbers = np.frombuffer(data, dtype=dtype).copy()
    numbers[at] = value
    return numbers.tobytes()


CORRUPT_CARRIES = {
    "cut by a byte": lambda data: data[:-1],
    "cut into its header": lambda data: data[:20],
    "a kind code out of range": lambda data: corrupt(data, len(data) - 2 * ((len(data) - 24) // 18), 6, "u1"),
    "a direction code out of range": lambda data: corrupt(data, len(data) - 1, 200, "u1"),
}


@pytest.mark.parametrize("damage", CORRUPT_CARRIES.values(), ids=CORRUPT_CARRIES.keys())
def test_a_carry_cut_short_or_corrupt_is_unreadable(state: tuple, damage, monkeypatch: pytest.MonkeyPatch) -> None:
    stored_carry, _ = packed(state, DETECTOR_VERSION, monkeypatch)
    with pytest.raises(Unreadable):
        unpack(damage(stored_carry), state[2], 300, "medium", ZONE)


CORRUPT_FITS = {
    "cut by a byte": lambda data: data[:-1],
    "a number after the last entry": lambda data: data + bytes(8),
    "a model that does not exist": lambda data: corrupt(data, 5, 7.0, "<f8"),
    "a count that is not one": lambda data: corrupt(data, 6, float("nan"), "<f8"),
    "a negative count": lambda data: corrupt(data, 3, -1.0, "<f8"),
}


@pytest.mark.parametrize("damage", CORRUPT_FITS.values(), ids=CORRUPT_FITS.keys())
def test_fits_cut_short_or_corrupt_are_unreadable(state: tuple, damage, monkeypatch: pytest.MonkeyPatch) -> None:
    _, stored_fits = packed(state, DETECTOR_VERSION, monkeypatch)
    with pytest.raises(Unreadable):
        unpack_fits(damage(stored_fits), 300, "count", ZONE)


def test_fits_cut_anywhere_are_unreadable(state: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every cut of whole numbers: none reads as fits, none raises anything but Unreadable."""
    _, stored_fits = packed(state, DETECTOR_VERSION, monkeypatch)
    for end in range(8, len(stored_fits), 8 * 7):
        with pytest.raises(Unreadable):
            unpack_fits(stored_fits[:end], 300, "count", ZONE)
