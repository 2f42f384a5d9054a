"""A beat schedule Celery lacks: once a minute, a given number of seconds into it.

The rollup runs start 18 seconds into each minute (flux.settings.tasks). Sent at the minute with a
`countdown`, they waited in the rollups worker as unacknowledged messages for those seconds, and a Redis
outage then (kombu restoring them on reconnect, threads pool) killed the worker for good while
/health/ready said nothing; sent by beat at second 18 itself, no message waits in a worker.
"""

from datetime import datetime, timedelta

from celery.schedules import BaseSchedule, schedstate


class minute_at(BaseSchedule):  # named like Celery's own schedules (crontab, solar)
    def __init__(self, second: int, nowfun: object = None, app: object = None) -> None:
        self.second = second
        super().__init__(nowfun=nowfun, app=app)

    def next_after(self, moment: datetime) -> datetime:
        """The first moment `second` seconds into a minute strictly after `moment`."""
        candidate = moment.replace(second=self.second, microsecond=0)
        return candidate if candidate > moment else candidate + timedelta(minutes=1)

    def remaining_estimate(self, last_run_at: datetime) -> timedelta:
        return self.next_after(self.maybe_make_aware(last_run_at)) - self.now()

    def is_due(self, last_run_at: datetime) -> schedstate:
        now = self.now()
        if now >= self.next_after(self.maybe_make_aware(last_run_at)):
            return schedstate(True, (self.next_after(now) - now).total_seconds())
        return schedstate(False, self.remaining_estimate(last_run_at).total_seconds())

    def __reduce__(self) -> tuple:
        return self.__class__, (self.second,)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, minute_at) and other.second == self.second

    def __hash__(self) -> int:
        return hash(("minute_at", self.second))

    def __repr__(self) -> str:
        return f"<minute_at: {self.second} s into every minute>"
