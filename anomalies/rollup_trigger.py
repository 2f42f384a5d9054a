"""The minute checks, early opens and five-minute scans run right after each rollup run, not on beat's
minute.

Beat starts the rollup runs ROLLUP_OFFSET seconds into each minute (flux.settings.tasks), so that a run's
watermark (its start less the rollups' SAFETY_LAG) is past the minute that just ended by more than
SETTLE (with CLOCK_MARGIN to spare); each run, once committed, queues anomalies.tasks.after_rollup for its source,
which reads that minute at once (five-minute watches are due ROLLUP_OFFSET after their bucket ends,
anomalies.cadence.SCAN_DELAY, so the run completing a bucket also hands out its scans). Started with the
scans' dispatch at the top of the minute instead, the checks read the watermark of the run a minute
earlier, or of the one still going: a minute was read 60 to 120 seconds after it ended, now about
ROLLUP_OFFSET + 1 (docs/anomaly-detection.md, "When a minute is read"). A run that is skipped or stalled
queues nothing, and nothing is lost: the checks read only up to the watermark, so the next run's checks
see what this one would have, and beat's dispatch still scans what is due at the top of each minute.
"""

import logging
from datetime import timedelta

from django.db import transaction

from anomalies.models import Watch

logger = logging.getLogger(__name__)

# A minute (or bucket) is read as complete once the rollup watermark is this far past its end: an event
# stamped in its last seconds may still be in a client's buffer (the SDK sends every 5 seconds) or on the
# wire, and must not read as a minute without it. The watermark itself trails the clock by SAFETY_LAG.
SETTLE = timedelta(seconds=10)
# Seconds into each minute at which beat starts the rollup runs (flux.settings.tasks): SAFETY_LAG + SETTLE
# and CLOCK_MARGIN for a database clock a little behind beat's, or a run started a little early.
ROLLUP_OFFSET = 18
CLOCK_MARGIN = timedelta(seconds=3)


def queue_checks(source: str) -> None:
    """Queue the checks of `source` once the rollup run commits; a broker that cannot take the task costs
    this minute's checks (logged), never the rollup run."""

    def queue() -> None:
        from anomalies.tasks import after_rollup

        try:
            after_rollup.delay(source)
        except Exception:
            logger.exception("queuing the minute checks after the %s rollup run failed", source)

    transaction.on_commit(queue)


def after_event_rollup(cursor: object) -> None:
    queue_checks(Watch.Source.EVENTS)


def after_metric_rollup(cursor: object) -> None:
    queue_checks(Watch.Source.METRIC)
