from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"

    def ready(self) -> None:
        # Rollup runs mark the watches whose cached history they changed (late data, backfills).
        from anomalies import late_data
        from events.rollups import STREAM as EVENTS
        from flux.query.rollup_job import on_touched
        from metrics.rollups import STREAM as METRICS

        on_touched(EVENTS, late_data.mark_event_watches)
        on_touched(METRICS, late_data.mark_metric_watches)
