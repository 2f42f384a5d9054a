from django.urls import path

from flux.insights.api import InsightCompareView, InsightExplainView, InsightSummaryView

urlpatterns = [
    path("insights/summary", InsightSummaryView.as_view(), name="insights-summary"),
    path("insights/compare", InsightCompareView.as_view(), name="insights-compare"),
    path("insights/explain", InsightExplainView.as_view(), name="insights-explain"),
]
