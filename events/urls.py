from django.urls import path

from events.api import EventBatchView, EventView

urlpatterns = [
    path("events", EventView.as_view(), name="events-ingest"),
    path("events/batch", EventBatchView.as_view(), name="events-batch"),
]
