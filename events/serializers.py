from events.models import Event
from flux.web.serializers import iso


def event_json(event: Event) -> dict:
    return {
        "id": event.id, "name": event.name, "timestamp": iso(event.time), "received_at": iso(event.received_at),
        "user_id": event.user_id, "session_id": event.session_id, "value": event.value, "tags": event.tags,
        "properties": event.properties, "environment": event.environment, "service": event.service,
        "host": event.host, "request_id": event.request_id, "client_id": event.client_id,
    }  # fmt: skip
