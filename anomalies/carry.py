"""A watch's carry: the detector's per-point results of its last scored buckets (anomalies.detection.Carry),
stored on the watch so that the next scan scores only the buckets completed since, instead of the two
days before them again (episodes and alerts look back that far).

Packed little-endian: a header (the time just after the last carried bucket, the interval, the
sensitivity), then per point the score and z (float64) and the kind and direction (one byte each). A
carry is only used by the scan that continues it: the same interval and sensitivity, its first new
bucket right after the carry's end, and a history unchanged since (anomalies.scan drops the carry
when a re-read changed any cached bucket).
"""

from datetime import datetime

import numpy as np

from anomalies.detection import Carry

KINDS = ("", "spike", "drop", "level_shift", "flatline", "trend_change")
DIRECTIONS = ("", "up", "down")
SENSITIVITIES = ("low", "medium", "high")
HEADER = 3  # float64: end (epoch seconds), interval, sensitivity


def pack(carry: Carry, end: datetime, interval_seconds: int, sensitivity: str) -> bytes:
    header = np.array([end.timestamp(), interval_seconds, SENSITIVITIES.index(sensitivity)], dtype="<f8")
    kinds = np.array([KINDS.index(kind) for kind in carry.kind], dtype="u1")
    directions = np.array([DIRECTIONS.index(direction) for direction in carry.direction], dtype="u1")
    numbers = np.concatenate([header, carry.score, carry.z]).astype("<f8")
    return numbers.tobytes() + kinds.tobytes() + directions.tobytes()


def unpack(stored: bytes, end: datetime, interval_seconds: int, sensitivity: str) -> Carry | None:
    """The carry if it continues exactly at `end` with this interval and sensitivity, else None."""
    data = bytes(stored or b"")
    if len(data) < HEADER * 8:
        return None
    header = np.frombuffer(data[: HEADER * 8], dtype="<f8")
    points = (len(data) - HEADER * 8) // 18
    if len(data) != HEADER * 8 + 18 * points:
        return None
    if (header[0], header[1], header[2]) != (end.timestamp(), interval_seconds, SENSITIVITIES.index(sensitivity)):
        return None
    numbers = np.frombuffer(data[HEADER * 8 : HEADER * 8 + 16 * points], dtype="<f8")
    codes = np.frombuffer(data[HEADER * 8 + 16 * points :], dtype="u1")
    return Carry(
        score=numbers[:points].copy(),
        z=numbers[points:].copy(),
        kind=np.array(KINDS, dtype=str)[codes[:points]],
        direction=np.array(DIRECTIONS, dtype=str)[codes[points:]],
    )
