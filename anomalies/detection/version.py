"""The detector's version: recorded with the results the scan stores between scans (anomalies.carry), so that
an upgrade never continues state that another detector computed.

Bump DETECTOR_VERSION in any change after which the detector gives other results for some series (a
constant, a window, a detector added or changed, a fix) or stores other ones: the fields of a carry
(scoring.Carry, and how anomalies.carry packs it) or of a block's fits (fitting.BlockFit, FitCache). A change
that leaves every output and stored byte as it was (speed, refactoring) keeps it. At its first scan after an
upgrade that bumped it, each watch rebuilds its carry and fits from its cached history, judging only its new
buckets (docs/anomaly-detection.md, "Upgrading"). anomalies/tests/test_detection_version.py fails until it is
bumped.
"""

DETECTOR_VERSION = 5
