from django.urls import path

from metrics.api import MetricQueryView, MetricSummaryView

urlpatterns = [
    path("metrics/<path:name>/query", MetricQueryView.as_view(), name="metric-query"),
    path("metrics/<path:name>", MetricSummaryView.as_view(), name="metric-summary"),
]
