"""Anomaly detection: pure, causal functions of a regular series (numpy only, no ORM).

See docs/anomaly-detection.md for the maths and the benchmark figures.
"""

from .config import DetectorConfig, Sensitivity, ValueKind, history_needed
from .episodes import Episode, Severity, deviation, find_episodes, severity_of
from .regularize import infer_interval, regularize
from .scoring import Scores, score_latest, score_series

__all__ = [
    "DetectorConfig",
    "Episode",
    "Scores",
    "Sensitivity",
    "Severity",
    "ValueKind",
    "deviation",
    "find_episodes",
    "history_needed",
    "infer_interval",
    "regularize",
    "score_latest",
    "score_series",
    "severity_of",
]
