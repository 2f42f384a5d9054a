"""Per-project caps on what a project's keys and members can create (keys, dashboards, share links, alert
rules and channels): past one, a create is a `400` `limit_reached`, never unbounded rows."""

from django.db.models import QuerySet

from flux.tenants.models import Project
from flux.web.errors import FluxError


class LimitReached(FluxError):
    code = "limit_reached"


def ensure_room(project: Project, existing: QuerySet, limit: int, what: str, advice: str = "delete some first") -> None:
    """Refuse one more of `what` once `existing` (the project's, as counted) holds `limit`. Call inside the
    create's transaction: the project's row is locked first, so two concurrent creates are counted in turn."""
    Project.objects.select_for_update().filter(pk=project.pk).first()
    if existing.count() >= limit:
        raise LimitReached(f"A project has at most {limit} {what}; {advice}.", details={"limit": limit})
