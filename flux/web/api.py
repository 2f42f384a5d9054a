"""DRF base pieces shared by every app: the error envelope and the project-scoped base view."""

import logging
import math
from typing import Any

from django.http import Http404
from django.urls import resolve
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from flux.tenants.models import Project
from flux.web.accepted_params import unknown_parameter
from flux.web.auth import ApiKeyAuthentication, HasAnyKey, KeyPrincipal, SessionProjectAuthentication
from flux.web.errors import DATABASE_RETRY_AFTER, DATABASE_UNAVAILABLE, FluxError, is_database_outage
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key
from flux.web.openapi.projects import CurrentProject

logger = logging.getLogger(__name__)


class NotFound(FluxError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


def error_body(code: str, message: str, details: Any = None) -> dict:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def exception_handler(exc: Exception, context: dict) -> Response:
    """Every API error, whatever raised it, leaves as `{"error": {"code", "message", "details"?}}`."""
    if isinstance(exc, FluxError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
        if exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    if is_database_outage(exc):
        response = Response(error_body("database_unavailable", DATABASE_UNAVAILABLE), status=503)
        response["Retry-After"] = str(DATABASE_RETRY_AFTER)
        return response
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.APIException):
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(max(1, math.ceil(exc.wait)))
        detail = exc.detail
        if isinstance(detail, (list, dict)):
            return Response(
                error_body("invalid", "The request is not valid.", detail), status=exc.status_code, headers=headers
            )
        return Response(error_body(str(detail.code), str(detail)), status=exc.status_code, headers=headers)
    logger.exception("Unhandled error in %s", context.get("view"))
    return Response(error_body("server_error", "Internal error; it has been logged."), status=500)


def validated_body(shape: type[serializers.Serializer], request: Request, **options: Any) -> serializers.Serializer:
    """`shape` bound to the request's JSON object and validated. Anything but an object, or a field the shape
    does not have, is a 400: a typo must not silently do nothing (nor widen what a request acts on)."""
    data = request.data
    if not isinstance(data, dict):
        raise FluxError("The body must be a JSON object.", details={"body": ["must be a JSON object"]})
    body = shape(data=data, **options)
    unknown = sorted(name for name in data if name not in body.fields)
    if unknown:
        accepted = ", ".join(name for name, field in body.fields.items() if not field.read_only)
        message = f"Unknown field {unknown[0]}; accepted: {accepted}."
        raise FluxError(message, details={name: ["unknown field"] for name in unknown})
    read_only = sorted(name for name in data if body.fields[name].read_only)
    if read_only:  # DRF would drop them unsaid: a client setting `id` believes it did
        raise FluxError(f"{read_only[0]} cannot be set.", details={name: ["read-only field"] for name in read_only})
    wrong = json_type_errors(body.fields, data)
    if wrong:
        name = next(iter(wrong))
        raise FluxError(f"{name} {wrong[name][0]}.", details=wrong)
    body.is_valid(raise_exception=True)
    return body


def json_type_errors(fields: dict[str, serializers.Field], data: dict) -> dict[str, list[str]]:
    """Values of the wrong JSON type, which DRF would coerce: `{"enabled": "no"}` read as false, `{"note": 5}`
    as "5", `{"threshold": "5"}` as 5. A client that sends them has a bug that silence would hide."""
    wrong = {}
    for name, value in data.items():
        field = fields.get(name)
        if value is None or field is None or field.read_only:
            continue  # null is the field's allow_null to judge
        if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
            wrong[name] = ["must be true or false"]
        elif isinstance(field, serializers.CharField) and not isinstance(value, str):
            wrong[name] = ["must be a string"]
        elif isinstance(field, serializers.IntegerField | serializers.FloatField) and not is_json_number(value):
            wrong[name] = ["must be a number"]
        elif isinstance(field, serializers.DictField) and not all_strings(field, value):
            wrong[name] = ["values must be strings"]
    return wrong


def all_strings(field: serializers.DictField, value: object) -> bool:
    """Whether an object for a field of string values holds only strings (the field reports anything else)."""
    if not isinstance(field.child, serializers.CharField) or not isinstance(value, dict):
        return True
    return all(isinstance(item, str) for item in value.values())


def is_json_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class ProjectAPIView(APIView):
    """Base for every API view: authenticated by key, and `self.project` is the only project in reach."""

    authentication_classes = [ApiKeyAuthentication, SessionProjectAuthentication]
    project: Project

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        principal = request.user
        assert isinstance(principal, KeyPrincipal)  # guaranteed by the key permissions
        self.project = principal.project
        if request.method in ("GET", "HEAD") and request.query_params:
            refuse_unknown_parameters(request)


def refuse_unknown_parameters(request: Request) -> None:
    """Reads declare their query parameters in the OpenAPI schema; any other one, or one given twice, is a 400."""
    # Calls from inside the process (the MCP tools) have not been through the URL resolver.
    match = request._request.resolver_match or resolve(request.path_info)
    unknown = unknown_parameter(match.route, request.method, list(request.query_params))
    if unknown:
        name, message = unknown
        raise FluxError(message, details={"parameter": name}, code="invalid_parameter")
    # No read takes a parameter twice: `limit=1&limit=500` would silently be the last one.
    for name, values in request.query_params.lists():
        if len(values) > 1:
            message = f"{name} is given {len(values)} times; give it once (several values go comma-separated)"
            raise FluxError(message, details={"parameter": name}, code="invalid_parameter")


class CurrentProjectView(ProjectAPIView):
    """GET /api/v1/project: which project and key kind a key belongs to (any kind of key)."""

    permission_classes = [HasAnyKey]

    @extend_schema(
        operation_id="project_retrieve",
        summary="The key's project",
        description=needs_key("any", "Which project the key belongs to, and the key's kind."),
        responses={200: CurrentProject, **errors(401, 403)},
        tags=["Projects"],
    )
    def get(self, request: Request) -> Response:
        project = self.project
        return Response(
            {
                "id": project.pk,
                "name": project.name,
                "slug": project.slug,
                "environment": project.environment,
                "timezone": project.timezone,
                "retention_days": project.retention_days,
                "key_kind": request.auth.kind,
            }
        )
