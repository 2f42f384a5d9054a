"""The project's live feed: one websocket per open page that wants to know what just happened in a
project (data arriving, and later anomalies), without a dashboard's widget pushes."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from flux.tenants.queries import get_project_for_user
from flux.web import realtime


@database_sync_to_async
def project_id_for(user: object, slug: str) -> int | None:
    project = get_project_for_user(user, slug)
    return project.pk if project else None


class ProjectFeedConsumer(AsyncJsonWebsocketConsumer):
    """ws/p/<project>/live/ for a signed-in member: every project message as `{"type": "message", "payload"}`."""

    group: str | None = None

    async def connect(self) -> None:
        project_id = await project_id_for(self.scope["user"], self.scope["url_route"]["kwargs"]["slug"])
        if project_id is None:
            await self.close(code=4404)  # the same whether the project does not exist or is not yours
            return
        self.group = realtime.project_group(project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def flux_message(self, message: dict) -> None:
        await self.send_json({"type": "message", "payload": message["payload"]})
