from annotations.models import Annotation


def annotation_json(annotation: Annotation) -> dict:
    """The one shape of an annotation: in the API, in pushes and in MCP answers."""
    return {
        "id": annotation.pk,
        "time": annotation.starts_at.isoformat().replace("+00:00", "Z"),
        "time_end": annotation.ends_at.isoformat().replace("+00:00", "Z") if annotation.ends_at else None,
        "text": annotation.text,
        "tags": annotation.tags,
        "created_by": annotation.created_by,
        "created_at": annotation.created_at.isoformat().replace("+00:00", "Z"),
    }
