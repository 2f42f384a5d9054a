"""Live dashboards: one websocket per open dashboard, pushing the data of the widgets new data touches."""

import asyncio
import fnmatch
import time
from collections.abc import Iterable

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from dashboards import queries
from dashboards.models import Dashboard, Widget
from dashboards.variables import chosen_values
from dashboards.widget_data import data_window, widget_data
from flux.query.query_params import InvalidParameter
from flux.tenants.queries import get_project_for_user
from flux.web import realtime
from flux.web.consumers import AccessRechecked, current_user

PUSH_EVERY_SECONDS = 1.0  # at most one push per widget per second, however fast data arrives
VIEW_PARAMETERS = ("from", "to", "period", "timezone")
WIDGETS_FRESH_SECONDS = 5.0


def affected_widgets(widgets: Iterable[Widget], event_names: Iterable[str], metric_names: Iterable[str]) -> set[int]:
    """Ids of the widgets whose query reads any of the names that just got data."""
    event_names, metric_names = set(event_names), set(metric_names)
    affected = set()
    for widget in widgets:
        query = widget.query
        if query["source"] == "metric":
            if query["name"] in metric_names:
                affected.add(widget.pk)
        elif any(fnmatch.fnmatchcase(name, query["name"] or "*") for name in event_names):
            affected.add(widget.pk)
    return affected


@database_sync_to_async
def find_dashboard(user: object, slug: str, reference: str) -> Dashboard | None:
    project = get_project_for_user(user, slug)
    return queries.get_dashboard(project, reference) if project else None


@database_sync_to_async
def current_widgets(dashboard: Dashboard) -> list[Widget]:
    return list(dashboard.widgets.all())


@database_sync_to_async
def data_of(dashboard: Dashboard, widget: Widget, params: dict[str, str]) -> dict:
    time_range, filters = data_window(dashboard, params, dashboard.project)
    return widget_data(dashboard.project, widget, time_range, filters, chosen_values(dashboard, params))


class DashboardConsumer(AccessRechecked, AsyncJsonWebsocketConsumer):
    """ws/p/<project>/dashboards/<id or slug>/ for a signed-in member. The page sends `{"type": "view",
    "params": {from/to/period/timezone, tags[k]}}` whenever its range changes; the server sends
    `{"type": "widget", "id", "data"}` for widgets new data touched, and `{"type": "message", "payload"}`
    for anything else the project publishes (flux.web.realtime)."""

    async def find_dashboard(self) -> Dashboard | None:
        route = self.scope["url_route"]["kwargs"]
        return await find_dashboard(self.scope["user"], route["slug"], route["reference"])

    async def has_access(self) -> bool:
        user = await database_sync_to_async(current_user)(self.scope)
        route = self.scope["url_route"]["kwargs"]
        return user is not None and await find_dashboard(user, route["slug"], route["reference"]) is not None

    async def connect(self) -> None:
        self.dashboard = await self.find_dashboard()
        if self.dashboard is None:
            await self.close(code=4404)  # the same whether it does not exist or is not yours
            return
        self.checked_at = time.monotonic()
        self.params: dict[str, str] = {}
        self.pending: set[int] = set()
        self.last_push: dict[int, float] = {}
        self.flusher: asyncio.Task | None = None
        self.known_widgets: list[Widget] = []
        self.widgets_read_at = float("-inf")
        self.group = realtime.project_group(self.dashboard.project_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if getattr(self, "dashboard", None) is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if getattr(self, "flusher", None):
            self.flusher.cancel()

    async def receive_json(self, content: object, **kwargs: object) -> None:
        if isinstance(content, dict) and content.get("type") == "view" and isinstance(content.get("params"), dict):
            self.params = {
                str(key): str(value) for key, value in content["params"].items()
                if key in VIEW_PARAMETERS or str(key).startswith("tags[")
            }  # fmt: skip

    async def flux_message(self, message: dict) -> None:
        if not await self.still_allowed():
            await self.close(code=4404)  # the page does not retry a 4404
            return
        payload = message["payload"]
        if payload.get("kind") != "data":
            await self.send_json({"type": "message", "payload": payload})
            return
        widgets = await self.widgets()
        self.pending |= affected_widgets(widgets, payload.get("events", []), payload.get("metrics", []))
        if self.pending and (self.flusher is None or self.flusher.done()):
            self.flusher = asyncio.create_task(self.flush())

    async def widget_data(self, widget: Widget) -> dict:
        return await data_of(self.dashboard, widget, self.params)

    async def widgets(self) -> list[Widget]:
        """The dashboard's widgets, re-read at most every few seconds (they change only in the editor)."""
        if time.monotonic() - self.widgets_read_at > WIDGETS_FRESH_SECONDS:
            self.known_widgets = await current_widgets(self.dashboard)
            self.widgets_read_at = time.monotonic()
        return self.known_widgets

    async def flush(self) -> None:
        """Push every pending widget as soon as its last push is a second old."""
        while self.pending:
            now = time.monotonic()
            due = {pk for pk in self.pending if now - self.last_push.get(pk, 0.0) >= PUSH_EVERY_SECONDS}
            if not due:
                await asyncio.sleep(min(PUSH_EVERY_SECONDS - (now - self.last_push[pk]) for pk in self.pending))
                continue
            self.pending -= due
            widgets = {widget.pk: widget for widget in await self.widgets()}
            for pk in sorted(due):
                if pk not in widgets:
                    continue
                self.last_push[pk] = time.monotonic()
                try:
                    data = await self.widget_data(widgets[pk])
                except InvalidParameter as error:
                    await self.send_json({"type": "error", "message": str(error)})
                    return
                await self.send_json({"type": "widget", "id": pk, "data": data})
