"""Request shapes whose writes refuse unknown fields (flux.web.api.validated_body) say so to schema readers
and client generators: `additionalProperties: false` on their components."""

from typing import Any, TypeVar

S = TypeVar("S", bound=type)
CLOSED_COMPONENTS: set[str] = set()


def closed(shape: S) -> S:
    """Marks a serializer as refusing unknown fields (its component, and the PATCH one, by drf-spectacular's names)."""
    name = shape.__name__.removesuffix("Serializer")
    CLOSED_COMPONENTS.update({name, f"Patched{name}"})
    return shape


def close_objects(result: dict, generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name in CLOSED_COMPONENTS:
            schema["additionalProperties"] = False
    return result
