"""What a watch keeps of its last scan so that the next one scores only what is new, both stored on the
watch, both dropped when its history changes (anomalies.refresh.merge_history):

- the carry: the detector's per-point results of its last scored buckets (anomalies.detection.Carry),
  so that the next scan scores only the buckets completed since, instead of the two days before them
  again (episodes and alerts look back that far);
- the fits: each model's block-level fit of the latest block (anomalies.detection.FitCache), so that the
  scans within a two-hour block fit the models once, not at every five-minute bucket.

Packed little-endian: a header (the time just after the last carried bucket, the interval, the
sensitivity, time zone and detector version), then per point the score and z (float64) and the kind and
direction (one byte each). A carry is only used by the scan that continues it: the same interval,
sensitivity, project time zone and detector version, its first new bucket right after the carry's end,
and a history unchanged since (anomalies.scan drops the carry when a re-read changed any cached bucket).
Any other scan scores as if there were none, which rebuilds it from the cached history.

The header is the one layout every version shares: the key that a stored carry or fit must match is
folded into the sensitivity's (the fits': the value kind's) number, the zone's CRC-32 (0 for UTC) plus
2**32 per detector version after the first. So the numbers stored before zones, and before versions, are
those of UTC and version 1, and still read; and a scan of one version (any since zones, this one's
predecessor included) reads another's state as of another zone, not continued, whatever its layout after
the header: during a rolling upgrade old and new workers rebuild each other's state, never misread it.
"""

import logging
import zlib
from datetime import datetime, timedelta

import numpy as np
from django.db import connection

from anomalies.detection import DETECTOR_VERSION, BlockFit, Carry, DetectorConfig, FitCache
from anomalies.detection.fitting import PROFILE_NUMBERS
from anomalies.models import Watch

logger = logging.getLogger(__name__)

KINDS = ("", "spike", "drop", "level_shift", "flatline", "trend_change")
DIRECTIONS = ("", "up", "down")
SENSITIVITIES = ("low", "medium", "high")
HEADER = 3  # float64: end (epoch seconds), interval, sensitivity and key
POINT_BYTES = 18  # score and z (float64), kind and direction (one byte each)
ZONE_KEYS = 2**32  # zone_key is a CRC-32
# Keys stay integers a float64 holds exactly (below 2**53) with the fits' factor of 4 on top.
assert 4 * ZONE_KEYS * DETECTOR_VERSION < 2**53


class Unreadable(ValueError):
    """Stored state of this detector version, zone and interval whose contents cannot be read (cut short,
    corrupt): not a reason to fail a scan, which rebuilds it (restore)."""


def zone_key(timezone: str) -> int:
    """A number for the zone (0: UTC) that a stored carry or fit must match to be continued."""
    return 0 if timezone == "UTC" else zlib.crc32(timezone.encode())


def state_key(timezone: str) -> int:
    """What stored state must match besides its interval, sensitivity or value kind: the zone and the detector
    version it was computed in (version 1's adds nothing: state stored before versions is version 1's)."""
    return zone_key(timezone) + ZONE_KEYS * (DETECTOR_VERSION - 1)


def baseline_is_current(version: int | None) -> bool:
    """Whether a watch's early-peek threshold and minute baseline were set by this detector version (those of
    another are not used: the watch's next scan sets them again)."""
    return version == DETECTOR_VERSION


def version_of(key: int) -> int:
    """The detector version of a stored state key."""
    return key // ZONE_KEYS + 1


def restore(watch: Watch, first: datetime, config: DetectorConfig) -> tuple[Carry | None, FitCache]:
    """The carry and fits a scan of the watch whose first new bucket starts at `first` can continue from.
    State it cannot read is logged with the watch's id and left out, as is state of another detector version:
    the scan then scores as if it had none, rebuilding both from the cached history."""
    interval = watch.interval_seconds
    try:
        carried = unpack(watch.carry, first, interval, config.sensitivity, config.timezone)
    except Unreadable as error:
        logger.warning("watch %s: carry unreadable (%s); rebuilt from its cached history", watch.pk, error)
        carried = None
    try:
        fits = unpack_fits(watch.fitted, interval, config.value_kind, config.timezone)
    except Unreadable as error:
        logger.warning("watch %s: model fits unreadable (%s); fitted again", watch.pk, error)
        fits = FitCache()
    stored = stored_version(watch.carry)
    if stored is not None and stored != DETECTOR_VERSION:
        logger.info("watch %s: state of detector version %s, rebuilt for %s", watch.pk, stored, DETECTOR_VERSION)
    return carried, fits


def carry_setting(sensitivity: str, timezone: str) -> int:
    """A carry header's third number: its sensitivity, with the zone and detector version's key above it."""
    return SENSITIVITIES.index(sensitivity) + len(SENSITIVITIES) * state_key(timezone)


def stored_version(stored: bytes | None) -> int | None:
    """The detector version that packed a carry (None: none stored, or not even a header)."""
    data = bytes(stored or b"")
    if len(data) < HEADER * 8:
        return None
    setting = np.frombuffer(data, dtype="<f8", count=HEADER)[2]
    return version_of(int(setting) // len(SENSITIVITIES)) if np.isfinite(setting) and setting >= 0 else None


def pack(carry: Carry, end: datetime, interval_seconds: int, sensitivity: str, timezone: str = "UTC") -> bytes:
    setting = carry_setting(sensitivity, timezone)
    header = np.array([end.timestamp(), interval_seconds, setting], dtype="<f8")
    kinds, directions = codes(carry.kind, KINDS), codes(carry.direction, DIRECTIONS)
    numbers = np.concatenate([header, carry.score, carry.z]).astype("<f8")
    return numbers.tobytes() + kinds.tobytes() + directions.tobytes()


def codes(labels: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """Each label's index in `names` (one byte)."""
    out = np.zeros(len(labels), dtype="u1")
    for code, name in enumerate(names[1:], start=1):
        out[labels == name] = code
    return out


def unpack(
    stored: bytes, end: datetime, interval_seconds: int, sensitivity: str, timezone: str = "UTC"
) -> Carry | None:
    """The carry if it continues exactly at `end` with this interval, sensitivity, zone and detector version,
    else None; Unreadable if it would but its points cannot be read."""
    data = bytes(stored or b"")
    if not data:
        return None
    if len(data) < HEADER * 8:
        raise Unreadable(f"{len(data)} bytes, less than a header")
    header = np.frombuffer(data[: HEADER * 8], dtype="<f8")
    setting = carry_setting(sensitivity, timezone)
    if (header[0], header[1], header[2]) != (end.timestamp(), interval_seconds, setting):
        return None  # (a later version may lay out its points otherwise: the header alone is compared)
    points, left = divmod(len(data) - HEADER * 8, POINT_BYTES)
    if left:
        raise Unreadable(f"{len(data)} bytes, not a header and whole points")
    numbers = np.frombuffer(data[HEADER * 8 : HEADER * 8 + 16 * points], dtype="<f8")
    kinds = np.frombuffer(data[HEADER * 8 + 16 * points :], dtype="u1", count=points)
    directions = np.frombuffer(data[HEADER * 8 + 17 * points :], dtype="u1")
    if points and (kinds.max() >= len(KINDS) or directions.max() >= len(DIRECTIONS)):
        raise Unreadable("a kind or direction code out of range")
    return Carry(
        score=numbers[:points].copy(),
        z=numbers[points:].copy(),
        kind=np.array(KINDS, dtype=str)[kinds],
        direction=np.array(DIRECTIONS, dtype=str)[directions],
    )


MODELS = ("local", "daily", "weekly")
VALUE_KINDS = ("count", "continuous")
# The fits' layout, in the value kind's slot: 1 adds each block's time-of-day profile (detection.fitting);
# fits stored in layout 0 lack it, and are fitted again (once) rather than misread.
WITH_SAME_TIME = 1
LAYOUTS = 2
FITS_HEADER = 5  # float64: block, interval, value kind (with layout and key), entries, trends


def pack_fits(fits: FitCache, interval_seconds: int, value_kind: str, timezone: str = "UTC") -> bytes:
    """The latest block's model fits (what the next scans of the block reuse), or nothing."""
    if not fits.blocks:
        return b""
    block = max(key[1] for key in fits.blocks)
    entries = [(name, item) for (name, at), item in fits.blocks.items() if at == block]
    trends = [(name, value) for (name, at), value in fits.trends.items() if at == block]
    kind = VALUE_KINDS.index(value_kind) + len(VALUE_KINDS) * (WITH_SAME_TIME + LAYOUTS * state_key(timezone))
    numbers: list[float] = [block, interval_seconds, kind, len(entries), len(trends)]
    for name, item in entries:
        numbers += [MODELS.index(name), len(item.offsets), *item.offsets, item.typical, *item.profile]
        numbers += [item.correlation, item.error, len(item.ordered), *item.ordered]
        same_time = [] if item.same_time is None else list(item.same_time)
        numbers += [len(same_time), *same_time]
    for name, (z, change) in trends:
        numbers += [MODELS.index(name), z, change]
    return np.array(numbers, dtype="<f8").tobytes()


def unpack_fits(stored: bytes, interval_seconds: int, value_kind: str, timezone: str = "UTC") -> FitCache:
    """The stored fits if they are of this interval, value kind, zone and detector version (else an empty
    cache to fill); Unreadable if they are but cannot be read."""
    data = bytes(stored or b"")
    if not data:
        return FitCache()
    if len(data) < FITS_HEADER * 8 or len(data) % 8:
        raise Unreadable(f"{len(data)} bytes, not a header and whole numbers")
    numbers = Numbers(np.frombuffer(data, dtype="<f8"))
    block = numbers.integer()  # (negative before 1970)
    interval, kind, entries, trends = (numbers.count() for _ in range(FITS_HEADER - 1))
    key, kind = divmod(kind, len(VALUE_KINDS) * LAYOUTS)
    layout, kind = divmod(kind, len(VALUE_KINDS))  # layout 0: stored before the time-of-day profiles
    if (interval, kind, key) != (interval_seconds, VALUE_KINDS.index(value_kind), state_key(timezone)):
        return FitCache()  # (a later version may lay out its entries otherwise: the header alone is compared)
    fits = FitCache()
    for _ in range(entries):
        name, offsets = numbers.model(), numbers.take(numbers.count())
        typical, profile = float(numbers.take(1)[0]), numbers.take(PROFILE_NUMBERS)
        correlation, error = (float(value) for value in numbers.take(2))
        ordered = numbers.take(numbers.count())
        same_time = None
        if layout == WITH_SAME_TIME:
            same_time = numbers.take(numbers.count())
            same_time = same_time if len(same_time) else None
        fits.blocks[name, block] = BlockFit(offsets, typical, profile, ordered, correlation, error, same_time)
    for _ in range(trends):
        name = numbers.model()
        z, change = (float(value) for value in numbers.take(2))
        fits.trends[name, block] = (z, change)
    if numbers.at != len(numbers.values):
        raise Unreadable(f"{len(numbers.values) - numbers.at} numbers after the last entry")
    return fits


class Numbers:
    """Packed fits read in order, each read checked: stored fits that end early or hold a count that is not
    one raise Unreadable rather than an IndexError or a misread."""

    def __init__(self, values: np.ndarray) -> None:
        self.values, self.at = values, 0

    def take(self, count: int) -> np.ndarray:
        if self.at + count > len(self.values):
            raise Unreadable("the fits end early")
        self.at += count
        return self.values[self.at - count : self.at].copy()

    def integer(self) -> int:
        value = float(self.take(1)[0])
        if not value.is_integer():
            raise Unreadable(f"{value} where an integer was")
        return int(value)

    def count(self) -> int:
        value = self.integer()
        if value < 0:
            raise Unreadable(f"{value} where a count was")
        return value

    def model(self) -> str:
        index = self.count()
        if index >= len(MODELS):
            raise Unreadable(f"model {index}")
        return MODELS[index]


def read_entries(fits: FitCache) -> tuple[dict, dict]:
    """What a FitCache holds, to tell afterwards whether scoring added or replaced any of it."""
    return dict(fits.blocks), dict(fits.trends)


def fits_changed(fits: FitCache, read: tuple[dict, dict], stored: bytes) -> bool:
    """Whether `fits` must be packed and stored again: scoring fitted a block (a new one, or one stored
    without its time-of-day profile), or what was read was not in the current layout. Most scans of a
    block reuse its stored fits as they are: packing their 50 KB again cost more than scoring the bucket."""
    blocks, trends = read
    if not blocks:
        return True
    kind = int(np.frombuffer(bytes(stored), dtype="<f8", count=3)[2])
    unchanged = same_entries(fits.blocks, blocks) and same_entries(fits.trends, trends)
    return not unchanged or kind // len(VALUE_KINDS) % LAYOUTS != WITH_SAME_TIME  # (the zone rides above)


def same_entries(now: dict, before: dict) -> bool:
    return now.keys() == before.keys() and all(now[key] is value for key, value in before.items())


def blob(values: list[bytes | None]) -> tuple[bytes, list[int | None], list[int | None]]:
    """Many byte strings as one bytea parameter: their concatenation, and each one's 1-based start and
    length (None for None), for `substring(blob FROM start FOR length)` in SQL. An array of bytea
    parameters is escaped element by element in Python (psycopg's client-side binding), 50 times slower
    for caches of tens of KB; one bytea is escaped by libpq."""
    starts: list[int | None] = []
    lengths: list[int | None] = []
    position = 1
    for value in values:
        starts.append(None if value is None else position)
        lengths.append(None if value is None else len(value))
        position += len(value or b"")
    return b"".join(value for value in values if value), starts, lengths


def save(watches: list[Watch], refitted: set[int]) -> None:
    """Store each watch's carry, early-peek threshold and minute baseline (with the detector version that set
    them), as scan_watch left them, and the model fits of those in `refitted` (the others' are unchanged: most
    scans reuse their block's fits), where the stored history is the one they were computed on (ends where the
    watch's does)."""
    if not watches:
        return
    carries, carry_from, carry_length = blob([bytes(w.carry or b"") for w in watches])
    fits, fits_from, fits_length = blob([bytes(w.fitted or b"") if w.pk in refitted else None for w in watches])
    with connection.cursor() as cursor:
        cursor.execute(
            # coalesce keeps an unchanged fit as it is stored, without writing its 50 KB again.
            """
            UPDATE anomalies_watch w
            SET carry = substring(%(carries)s::bytea FROM v.carry_from FOR v.carry_length),
                fitted = coalesce(substring(%(fits)s::bytea FROM v.fits_from FOR v.fits_length), w.fitted),
                peek_above = v.peek_above, minute_rate = v.minute_rate, minute_dispersion = v.minute_dispersion,
                minute_rate_variance = v.minute_rate_variance, baseline_version = v.baseline_version
            FROM unnest(%(ids)s::bigint[], %(carry_from)s::int[], %(carry_length)s::int[], %(fits_from)s::int[],
                        %(fits_length)s::int[], %(peek_above)s::float8[], %(minute_rate)s::float8[],
                        %(minute_dispersion)s::float8[], %(minute_rate_variance)s::float8[], %(ends)s::timestamptz[],
                        %(baseline_version)s::smallint[])
                 AS v(id, carry_from, carry_length, fits_from, fits_length, peek_above, minute_rate, minute_dispersion,
                      minute_rate_variance, history_end, baseline_version)
            WHERE w.id = v.id AND w.history_end IS NOT DISTINCT FROM v.history_end
            """,
            {"ids": [w.pk for w in watches], "carries": carries, "carry_from": carry_from,
             "ends": [w.history_end for w in watches],
             "carry_length": carry_length, "fits": fits, "fits_from": fits_from, "fits_length": fits_length,
             "peek_above": [w.peek_above for w in watches], "minute_rate": [w.minute_rate for w in watches],
             "minute_dispersion": [w.minute_dispersion for w in watches],
             "minute_rate_variance": [w.minute_rate_variance for w in watches],
             "baseline_version": [w.baseline_version for w in watches]},
        )  # fmt: skip


def history_rewritten(old: np.ndarray, old_end: datetime, new: np.ndarray, new_end: datetime, step: timedelta) -> bool:
    """Whether any bucket both histories hold has a different value in the new one."""
    start = max(old_end - step * len(old), new_end - step * len(new))
    end = min(old_end, new_end)
    if end <= start:
        return bool(len(old))
    span = int((end - start) / step)
    old_from = int((start - (old_end - step * len(old))) / step)
    new_from = int((start - (new_end - step * len(new))) / step)
    return not np.array_equal(old[old_from : old_from + span], new[new_from : new_from + span], equal_nan=True)
