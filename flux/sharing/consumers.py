"""The live feed of a shared dashboard: ws/shared/<token>/ pushes that dashboard's widget data and nothing else."""

from channels.db import database_sync_to_async

from dashboards.consumers import DashboardConsumer
from dashboards.models import Dashboard
from flux.sharing.services import dashboard_for_token


class SharedDashboardConsumer(DashboardConsumer):
    """A share token opens exactly one dashboard, over its saved range (the view message is ignored); a
    revoked or expired link's open socket is closed by the next data (DashboardConsumer's recheck)."""

    async def find_dashboard(self) -> Dashboard | None:
        return await database_sync_to_async(dashboard_for_token)(self.scope["url_route"]["kwargs"]["token"])

    async def has_access(self) -> bool:
        return await self.find_dashboard() is not None  # the link decides, not a person

    async def receive_json(self, content: object, **kwargs: object) -> None:
        return  # a public viewer cannot choose other ranges or filters

    async def flux_message(self, message: dict) -> None:
        if message["payload"].get("kind") != "data":  # anomalies, annotations and the rest stay private
            return
        await super().flux_message(message)
