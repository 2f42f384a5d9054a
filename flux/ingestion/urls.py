"""The ingest endpoints on the events and metrics apps' paths (included before the apps' own URLs)."""

from django.urls import path

from flux.ingestion.api import FluxBatchView
from flux.ingestion.endpoints import EventBatchView, EventView, MetricBatchView, MetricView

urlpatterns = [
    path("flux/batch", FluxBatchView.as_view(), name="api-flux-batch"),
    path("events", EventView.as_view(), name="events"),
    path("events/batch", EventBatchView.as_view(), name="events-batch"),
    path("metrics", MetricView.as_view(), name="metrics-ingest"),
    path("metrics/batch", MetricBatchView.as_view(), name="metrics-batch"),
]
