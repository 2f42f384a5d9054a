from django.urls import path

from events.api import (
    EventCountView,
    EventDetailView,
    EventNamesView,
    EventStatsView,
    EventUniqueView,
)
from events.export_api import EventExportView
from events.funnel_api import FunnelView
from events.saved_views_api import SavedViewDetailView, SavedViewListView

urlpatterns = [
    path("events/count", EventCountView.as_view(), name="events-count"),
    path("events/stats", EventStatsView.as_view(), name="events-stats"),
    path("events/unique", EventUniqueView.as_view(), name="events-unique"),
    path("events/names", EventNamesView.as_view(), name="events-names"),
    path("events/views", SavedViewListView.as_view(), name="events-views"),
    path("events/views/<int:view_id>", SavedViewDetailView.as_view(), name="events-view"),
    path("events/funnel", FunnelView.as_view(), name="events-funnel"),
    path("events/export", EventExportView.as_view(), name="events-export"),
    path("events/<int:event_id>", EventDetailView.as_view(), name="event-detail"),
]
