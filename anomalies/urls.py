from django.urls import path

from anomalies.api import (
    AcknowledgeAllView,
    AcknowledgeView,
    AnomalyDetailView,
    AnomalyListView,
    DetectionSettingsView,
    ReopenView,
    ResolveView,
)
from anomalies.settings_api import (
    BacktestView,
    ChannelDeliveriesView,
    ChannelDetailView,
    ChannelListView,
    ChannelTestView,
    WatchDetailView,
    WatchListView,
)
from anomalies.threshold_api import ThresholdDetailView, ThresholdListView

urlpatterns = [
    path("anomalies", AnomalyListView.as_view(), name="anomalies"),
    path("anomalies/acknowledge_all", AcknowledgeAllView.as_view(), name="anomalies-acknowledge-all"),
    path("anomalies/settings", DetectionSettingsView.as_view(), name="anomalies-settings"),
    path("anomalies/thresholds", ThresholdListView.as_view(), name="anomalies-thresholds"),
    path("anomalies/thresholds/<int:rule_id>", ThresholdDetailView.as_view(), name="anomalies-threshold"),
    path("anomalies/series", WatchListView.as_view(), name="anomalies-series"),
    path("anomalies/series/<int:watch_id>", WatchDetailView.as_view(), name="anomalies-series-detail"),
    path("anomalies/series/<int:watch_id>/backtest", BacktestView.as_view(), name="anomalies-series-backtest"),
    path("anomalies/channels", ChannelListView.as_view(), name="anomalies-channels"),
    path("anomalies/channels/<int:channel_id>", ChannelDetailView.as_view(), name="anomalies-channel"),
    path("anomalies/channels/<int:channel_id>/test", ChannelTestView.as_view(), name="anomalies-channel-test"),
    path(
        "anomalies/channels/<int:channel_id>/deliveries", ChannelDeliveriesView.as_view(), name="anomalies-deliveries"
    ),
    path("anomalies/<int:anomaly_id>", AnomalyDetailView.as_view(), name="anomaly"),
    path("anomalies/<int:anomaly_id>/acknowledge", AcknowledgeView.as_view(), name="anomaly-acknowledge"),
    path("anomalies/<int:anomaly_id>/resolve", ResolveView.as_view(), name="anomaly-resolve"),
    path("anomalies/<int:anomaly_id>/reopen", ReopenView.as_view(), name="anomaly-reopen"),
]
