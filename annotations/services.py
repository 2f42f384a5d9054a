"""Writes of annotations; each is pushed to the project's open pages once committed."""

from datetime import datetime

from django.db import transaction

from annotations.models import Annotation
from annotations.serializers import annotation_json
from flux.tenants.models import Project
from flux.web import realtime


@transaction.atomic
def create_annotation(
    project: Project, *, starts_at: datetime, ends_at: datetime | None, text: str, tags: dict[str, str], actor: str
) -> Annotation:
    """Record an annotation (validated by the caller) and push it to the project's live pages."""
    annotation = Annotation.objects.create(
        project=project, starts_at=starts_at, ends_at=ends_at, text=text, tags=tags, created_by=actor
    )
    payload = {"kind": "annotation", "event": "created", "annotation": annotation_json(annotation)}
    transaction.on_commit(lambda: realtime.publish(project.pk, payload))
    return annotation


@transaction.atomic
def delete_annotation(annotation: Annotation) -> None:
    """Delete an annotation; open pages drop its marker."""
    project_id, annotation_id = annotation.project_id, annotation.pk
    annotation.delete()
    payload = {"kind": "annotation", "event": "deleted", "id": annotation_id}
    transaction.on_commit(lambda: realtime.publish(project_id, payload))
