"""GET /api/v1/insights/summary, /compare and /explain: plain-English insights with their facts."""

from collections.abc import Mapping

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from flux.insights.compare import compare_insight
from flux.insights.drivers import explain_change
from flux.insights.openapi import KIND, NAME, PERIOD, CompareInsight, ExplainInsight, SummaryInsight
from flux.insights.periods import DEFAULT_PERIOD
from flux.insights.summary import project_summary
from flux.query.query_params import InvalidParameter
from flux.web.api import ProjectAPIView
from flux.web.auth import HasReadKey
from flux.web.openapi.errors import errors
from flux.web.openapi.keys import needs_key

FACTS = "Every number in `text` is in `facts` with a query against this API (run it with a read key) that gives it."


def subject_of(params: Mapping[str, str]) -> tuple[str, str, str | None]:
    """(name, period, kind) of a compare or explain request; a missing name is a 400."""
    name = (params.get("name") or "").strip()
    if not name:
        raise InvalidParameter("name", "name is required: an event name or a metric name")
    return name, params.get("period") or DEFAULT_PERIOD, params.get("kind") or None


class InsightSummaryView(ProjectAPIView):
    """GET /api/v1/insights/summary."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="insights_summary",
        summary="The project over a period, in a few sentences",
        description=needs_key(
            "read",
            "What came in against the period before, the biggest movers among event names and metrics (significant "
            "changes only), the anomalies open during the period, and the event names and metrics first seen in it. "
            + FACTS,
        ),
        parameters=[PERIOD],
        responses={200: SummaryInsight, **errors(400, 401, 403)},
        tags=["Insights"],
    )
    def get(self, request: Request) -> Response:
        return Response(
            project_summary(self.project, request.query_params.get("period") or DEFAULT_PERIOD, timezone.now())
        )


class InsightCompareView(ProjectAPIView):
    """GET /api/v1/insights/compare."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="insights_compare",
        summary="How one event or metric changed, in a sentence",
        description=needs_key(
            "read",
            "An event name's count, or a metric's default aggregation, over the period against the period before: "
            "up or down and by how much when the change is more than normal variation (with when it started, if one "
            "hour stands out), steady when it is not, or not enough data to say. " + FACTS,
        ),
        parameters=[NAME, PERIOD, KIND],
        responses={200: CompareInsight, **errors(400, 401, 403, 404)},
        tags=["Insights"],
    )
    def get(self, request: Request) -> Response:
        name, period, kind = subject_of(request.query_params)
        return Response(compare_insight(self.project, name, period, timezone.now(), kind))


class InsightExplainView(ProjectAPIView):
    """GET /api/v1/insights/explain."""

    permission_classes = [HasReadKey]

    @extend_schema(
        operation_id="insights_explain",
        summary="Why one event or metric changed",
        description=needs_key(
            "read",
            "The comparison of `/insights/compare`, then which tag values drive a significant change: the stretch "
            "after the change started (or the current period) against as long a stretch before. For events, the "
            "values that carry most of the change, with their share; for metrics, the values that moved most. " + FACTS,
        ),
        parameters=[NAME, PERIOD, KIND],
        responses={200: ExplainInsight, **errors(400, 401, 403, 404)},
        tags=["Insights"],
    )
    def get(self, request: Request) -> Response:
        name, period, kind = subject_of(request.query_params)
        return Response(explain_change(self.project, name, period, timezone.now(), kind))
