from django.urls import path

from metrics.api import MetricBatchView, MetricView

urlpatterns = [
    path("metrics", MetricView.as_view(), name="metrics-ingest"),
    path("metrics/batch", MetricBatchView.as_view(), name="metrics-batch"),
]
