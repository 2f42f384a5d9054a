"""The live feed of a shared dashboard: ws/shared/<token>/ pushes that dashboard's widget data and nothing else."""

import time

from channels.db import database_sync_to_async

from dashboards.consumers import DashboardConsumer
from dashboards.models import Dashboard
from flux.sharing.services import dashboard_for_token

RECHECK_SECONDS = 1.0  # a revoked or expired link's open socket is closed by the next data after this long


class SharedDashboardConsumer(DashboardConsumer):
    """A share token opens exactly one dashboard, over its saved range (the view message is ignored)."""

    async def find_dashboard(self) -> Dashboard | None:
        self.checked_at = time.monotonic()
        return await database_sync_to_async(dashboard_for_token)(self.scope["url_route"]["kwargs"]["token"])

    async def receive_json(self, content: object, **kwargs: object) -> None:
        return  # a public viewer cannot choose other ranges or filters

    async def flux_message(self, message: dict) -> None:
        if message["payload"].get("kind") != "data":  # anomalies, annotations and the rest stay private
            return
        if time.monotonic() - self.checked_at >= RECHECK_SECONDS and await self.find_dashboard() is None:
            await self.close(code=4404)  # the page does not retry a 4404
            return
        await super().flux_message(message)
