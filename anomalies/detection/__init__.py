"""Anomaly detection: pure, causal functions of a regular series (numpy only, no ORM).

See docs/anomaly-detection.md for the maths and the benchmark figures.
"""

from .config import DetectorConfig, Sensitivity, ValueKind, history_needed
from .episodes import Episode, Severity, alert_points, deviation, find_episodes, hysteresis, severity_of
from .fitting import BlockFit, FitCache
from .regularize import infer_interval, regularize
from .rows import RowScores, score_rows
from .scoring import Carry, Scores, carried_points, score_incremental, score_latest, score_series
from .version import DETECTOR_VERSION

__all__ = [
    "DETECTOR_VERSION",
    "BlockFit",
    "Carry",
    "DetectorConfig",
    "Episode",
    "FitCache",
    "RowScores",
    "Scores",
    "Sensitivity",
    "Severity",
    "ValueKind",
    "alert_points",
    "carried_points",
    "deviation",
    "find_episodes",
    "history_needed",
    "hysteresis",
    "infer_interval",
    "regularize",
    "score_incremental",
    "score_latest",
    "score_rows",
    "score_series",
    "severity_of",
]
