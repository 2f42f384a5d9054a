"""The rule of anomalies/detection/version.py, enforced: the detector's results and stored state on a few fixed
series, digested, are recorded per DETECTOR_VERSION; a change that moves any of them fails here until the
version is bumped (so that upgraded scans rebuild the state the old detector stored) and its digest recorded."""

import hashlib
from dataclasses import fields

import numpy as np

from anomalies import carry
from anomalies.detection import DETECTOR_VERSION, DetectorConfig, FitCache, score_incremental, score_series

# One per version; a version's results never change once it is released.
DIGESTS = {
    1: "66a26007c7619438205829c0769916b01b1a194f4a2ba81056820dfc5ed733f8",
    2: "31bddd03c7fdbf37bdb3f5afa9133f5f034905ed9977baf01bf56bb01ccd5f8d",  # model errors ignore missing residuals
    3: "9273b97e55274f01dad261bca2ea46ea3370921024dd5a9a09627d332fa7e9f5",  # a step is no trend, nor a drift
    4: "1e0016a51f7f0144ee261095dd064235b23b0d6815e65fc665f068cddce3429c",  # high at 10^-3.5; week-long habits of runs
    5: "3f9d11bd173239c07b97b2b00efd2473637df061b63ed4f988accc27dab5d77b",  # the weekly model's opinion
}

DAY = 86400


def series(days: int, interval: int, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A daily swing with noise (Poisson counts or a gauge), a spike on the last day but one and a drop after."""
    rng = np.random.default_rng(seed)
    times = 1_790_000_000 // DAY * DAY + interval * np.arange(days * DAY // interval, dtype=np.float64)
    swing = 1 + 0.5 * np.sin(2 * np.pi * (times % DAY) / DAY)
    if kind == "idle":  # counts sent as a metric that go quiet each night: runs of 0 with a long tail
        night = (times % DAY >= 3600) & (times % DAY < 6 * 3600)
        return times, rng.poisson(np.where(night, 0.01, 0.3)).astype(float)
    values = rng.poisson(40 * interval / 3600 * swing).astype(float) if kind == "count" else 50 + 10 * swing
    values = values + (0 if kind == "count" else rng.normal(0, 1, len(times)))
    spike, drop = len(times) - DAY // interval, len(times) - DAY // interval // 2
    values[spike] *= 4
    values[drop : drop + 3 * 3600 // interval] *= 0.2
    return times, values


def digest_of(values: np.ndarray) -> bytes:
    if values.dtype.kind == "f":  # 12 significant digits: a result that moves moves far more than float noise
        return ",".join(f"{value:.12g}" for value in values).encode()
    return ",".join(str(value) for value in values).encode()


def fingerprint() -> str:
    digest = hashlib.sha256()
    cases = [
        (300, "count", "UTC", 10, "medium"),
        (3600, "continuous", "UTC", 40, "medium"),
        (3600, "count", "Europe/Berlin", 40, "medium"),
        (300, "continuous", "UTC", 10, "high"),  # from version 4: the sensitivities' thresholds are results too
        (300, "idle", "UTC", 10, "medium"),  # and the flatline's runs
    ]
    for seed, (interval, kind, zone, days, sensitivity) in enumerate(cases):
        times, values = series(days, interval, kind, seed)
        kind = "continuous" if kind == "idle" else kind
        config = DetectorConfig(interval, kind, sensitivity, zone)  # type: ignore[arg-type]
        scores = score_series(times, values, config)
        for item in fields(scores):
            digest.update(digest_of(np.asarray(getattr(scores, item.name))))
        fits = FitCache()
        _, carried = score_incremental(times, values, config, 1, None, fits)
        stored_fits = carry.pack_fits(fits, interval, kind, zone)
        digest.update(digest_of(np.frombuffer(stored_fits, dtype="<f8")))
        for name in ("score", "z", "kind", "direction"):
            digest.update(digest_of(np.asarray(getattr(carried, name))))
    return digest.hexdigest()


def test_the_detectors_results_are_those_recorded_for_its_version() -> None:
    found = fingerprint()
    assert found == DIGESTS.get(DETECTOR_VERSION), (
        f"The detector's results or stored state changed ({found}): bump DETECTOR_VERSION in "
        "anomalies/detection/version.py and record this digest for the new version here (docs/anomaly-detection.md, "
        "Upgrading). If nothing was meant to change, the change is a bug."
    )
