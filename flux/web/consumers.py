"""The project's live feed: one websocket per open page that wants to know what just happened in a
project (data arriving, and later anomalies), without a dashboard's widget pushes."""

import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model

from flux.tenants.queries import get_project_for_user
from flux.web import realtime


@database_sync_to_async
def project_id_for(user: object, slug: str) -> int | None:
    project = get_project_for_user(user, slug)
    return project.pk if project else None


def current_user(scope: dict) -> object | None:
    """The socket's user as the database has it now, while the session it connected with still exists:
    None once signed out, deactivated or deleted (the scope's user is a copy taken at connect)."""
    user, session = scope.get("user"), scope.get("session")
    if user is None or not user.is_authenticated:
        return None
    if session is not None and not (session.session_key and session.exists(session.session_key)):
        return None
    return get_user_model().objects.filter(pk=user.pk, is_active=True).first()


class AccessRechecked:
    """A socket whose access is checked again before it passes a message on (at most every
    FLUX_SOCKET_RECHECK_MS): access checked only at connect would keep streaming a project's anomalies and
    data to a member removed since, or a shared dashboard to a revoked link."""

    checked_at = float("-inf")

    async def has_access(self) -> bool:
        raise NotImplementedError

    async def still_allowed(self) -> bool:
        if (time.monotonic() - self.checked_at) * 1000 < settings.FLUX_SOCKET_RECHECK_MS:
            return True
        self.checked_at = time.monotonic()
        return await self.has_access()


class ProjectFeedConsumer(AccessRechecked, AsyncJsonWebsocketConsumer):
    """ws/p/<project>/live/ for a signed-in member: every project message as `{"type": "message", "payload"}`."""

    group: str | None = None

    async def has_access(self) -> bool:
        user = await database_sync_to_async(current_user)(self.scope)
        return user is not None and await project_id_for(user, self.scope["url_route"]["kwargs"]["slug"]) is not None

    async def connect(self) -> None:
        project_id = await project_id_for(self.scope["user"], self.scope["url_route"]["kwargs"]["slug"])
        if project_id is None:
            await self.close(code=4404)  # the same whether the project does not exist or is not yours
            return
        self.checked_at = time.monotonic()
        self.group = realtime.project_group(project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def flux_message(self, message: dict) -> None:
        if not await self.still_allowed():
            await self.close(code=4404)  # the page does not retry a 4404
            return
        await self.send_json({"type": "message", "payload": message["payload"]})
