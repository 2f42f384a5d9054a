"""The API key schemes in the schema, and operation descriptions that say which key kinds may call."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema

from flux.tenants.models import KeyKind
from flux.web.auth import KINDS_ALLOWED

BEARER_SCHEME, HEADER_SCHEME = "bearerKey", "headerKey"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """flux.web.auth.ApiKeyAuthentication: a project key as a Bearer token, or in X-API-Key (either will do)."""

    target_class = "flux.web.auth.ApiKeyAuthentication"
    name = [BEARER_SCHEME, HEADER_SCHEME]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list]]:
        return [{BEARER_SCHEME: []}, {HEADER_SCHEME: []}]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, str]]:
        kinds = "Keys are ingest (send data), read (query) or admin (both); each operation says which it needs."
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "description": f"`Authorization: Bearer <key>` with a project API key. {kinds}",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-Key",
                "description": f"The same project API key in the `X-API-Key` header instead. {kinds}",
            },
        ]


def needs_key(capability: str, text: str) -> str:
    """An operation description that starts with the key kinds allowed ("any", or a flux.web.auth capability)."""
    kinds = [kind for kind in KeyKind.values if capability == "any" or kind in KINDS_ALLOWED[capability]]
    listed = f"{', '.join(kinds[:-1])} or {kinds[-1]}" if len(kinds) > 1 else kinds[0]
    return f"**Key:** {listed}.\n\n{text.strip()}"
