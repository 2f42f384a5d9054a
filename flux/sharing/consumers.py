"""The live feed of a shared dashboard: ws/shared/<token>/ pushes that dashboard's widget data and nothing else."""

import asyncio
import time
from datetime import datetime

from channels.db import database_sync_to_async

from dashboards.consumers import PUSH_EVERY_SECONDS, DashboardConsumer, data_of
from dashboards.models import Dashboard, Widget
from flux.sharing.services import dashboard_for_token

# Every socket of a shared dashboard sees the same data (its saved range, no filters of its own): one
# computation per widget and push interval serves them all in this process. Each socket computed its own,
# and 100 sockets on one link slowed every live dashboard of the process 20-fold (pushes of 8 s, not 0.4).
PUSHES: dict[tuple[int, datetime], tuple[float, asyncio.Task]] = {}
FORGET_AFTER_SECONDS = 10.0


class SharedDashboardConsumer(DashboardConsumer):
    """A share token opens exactly one dashboard, over its saved range (the view message is ignored); a
    revoked or expired link's open socket is closed by the next data (DashboardConsumer's recheck)."""

    async def find_dashboard(self) -> Dashboard | None:
        return await database_sync_to_async(dashboard_for_token)(self.scope["url_route"]["kwargs"]["token"])

    async def has_access(self) -> bool:
        return await self.find_dashboard() is not None  # the link decides, not a person

    async def receive_json(self, content: object, **kwargs: object) -> None:
        return  # a public viewer cannot choose other ranges or filters

    async def widget_data(self, widget: Widget) -> dict:
        now, key = time.monotonic(), (widget.pk, widget.updated_at)
        found = PUSHES.get(key)
        if found is None or now - found[0] >= PUSH_EVERY_SECONDS:
            for old in [item for item, (at, _) in PUSHES.items() if now - at > FORGET_AFTER_SECONDS]:
                del PUSHES[old]
            found = PUSHES[key] = (now, asyncio.ensure_future(data_of(self.dashboard, widget, {})))
        return await asyncio.shield(found[1])

    async def flux_message(self, message: dict) -> None:
        if message["payload"].get("kind") != "data":  # anomalies, annotations and the rest stay private
            return
        await super().flux_message(message)
