from django.urls import path

from metrics.api import MetricBatchView, MetricQueryView, MetricSummaryView, MetricView

urlpatterns = [
    path("metrics", MetricView.as_view(), name="metrics-ingest"),
    path("metrics/batch", MetricBatchView.as_view(), name="metrics-batch"),
    path("metrics/<path:name>/query", MetricQueryView.as_view(), name="metric-query"),
    path("metrics/<path:name>", MetricSummaryView.as_view(), name="metric-summary"),
]
