"""Saved views of the events explorer: a name and the page's query (filters, range), per project."""

from collections.abc import Mapping

from django.db import IntegrityError, transaction
from rest_framework import status

from events.models import SavedView
from flux.tenants.models import Project
from flux.web.api import FluxError, NotFound

# What the explorer keeps in its address (static/js/events.js), and nothing else.
VIEW_FIELDS = ("name", "tags", "properties", "user_id", "range", "from", "to")
MAX_VIEWS = 100
MAX_NAME = 100
MAX_VALUE = 500


class InvalidView(FluxError):
    code = "invalid_view"


class ViewNameTaken(FluxError):
    status_code = status.HTTP_409_CONFLICT
    code = "name_taken"


def list_views(project: Project) -> list[SavedView]:
    """The project's saved views by name."""
    return list(SavedView.objects.filter(project=project).order_by("name")[:MAX_VIEWS])


def checked_view(body: object) -> tuple[str, dict[str, str]]:
    if not isinstance(body, Mapping):
        raise InvalidView("the body must be an object {name, params}")
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidView(f"name must be 1 to {MAX_NAME} characters", details={"field": "name"})
    params = body.get("params")
    if not isinstance(params, Mapping):
        raise InvalidView("params must be an object", details={"field": "params"})
    for key, value in params.items():
        if key not in VIEW_FIELDS:
            raise InvalidView(f"params.{key} is not an explorer field ({', '.join(VIEW_FIELDS)})",
                              details={"field": f"params.{key}"})  # fmt: skip
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise InvalidView(f"params.{key} must be text of at most {MAX_VALUE} characters",
                              details={"field": f"params.{key}"})  # fmt: skip
    return name.strip(), {key: value for key, value in params.items() if value}


def save_view(project: Project, body: object) -> SavedView:
    """A new saved view; its name is unique in the project."""
    name, params = checked_view(body)
    if SavedView.objects.filter(project=project).count() >= MAX_VIEWS:
        raise InvalidView(f"a project keeps at most {MAX_VIEWS} saved views")
    try:
        with transaction.atomic():
            return SavedView.objects.create(project=project, name=name, params=params)
    except IntegrityError:
        raise ViewNameTaken(f"a view named {name!r} exists already", details={"field": "name"}) from None


def delete_view(project: Project, view_id: int) -> None:
    """Forget a saved view of the project."""
    deleted, _ = SavedView.objects.filter(project=project, pk=view_id).delete()
    if not deleted:
        raise NotFound("no such saved view")


def view_json(view: SavedView) -> dict:
    return {"id": view.pk, "name": view.name, "params": view.params,
            "created_at": view.created_at.isoformat().replace("+00:00", "Z")}  # fmt: skip
