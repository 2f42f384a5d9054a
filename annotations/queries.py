"""Reads of annotations."""

from django.db.models import F, Q
from django.db.models.functions import Coalesce

from annotations.models import Annotation
from flux.query.timerange import TimeRange
from flux.tenants.models import Project


def list_annotations(project: Project, time_range: TimeRange, tags: dict[str, str], limit: int) -> list[Annotation]:
    """Annotations touching the range (an instant inside it, or a range overlapping it) with all `tags`."""
    annotations = (
        Annotation.objects.filter(project=project, starts_at__lt=time_range.end)
        .alias(last=Coalesce(F("ends_at"), F("starts_at")))
        .filter(Q(last__gte=time_range.start))
    )
    if tags:
        annotations = annotations.filter(tags__contains=tags)
    return list(annotations.order_by("starts_at", "id")[:limit])


def get_annotation(project: Project, annotation_id: int) -> Annotation | None:
    return Annotation.objects.filter(project=project, pk=annotation_id).first()
