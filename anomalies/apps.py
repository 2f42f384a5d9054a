from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"

    def ready(self) -> None:
        # Rollup runs mark the watches whose cached history they changed (late data, backfills), and
        # queue the minute checks of the minute they completed.
        from django.db.models.signals import pre_delete

        from anomalies import late_data, rollup_trigger, services
        from anomalies.queries import count_open_anomalies
        from events.queries import ROLLUP_STREAM as EVENTS
        from flux.query.rollup_job import on_touched
        from flux.tenants.models import Project
        from flux.web.pages import register_nav_count
        from metrics.queries import ROLLUP_STREAM as METRICS

        on_touched(EVENTS, late_data.mark_event_watches)
        on_touched(METRICS, late_data.mark_metric_watches)
        on_touched(EVENTS, rollup_trigger.after_event_rollup)
        on_touched(METRICS, rollup_trigger.after_metric_rollup)
        # The navigation's badge of open anomalies (flux.web.pages knows no app).
        register_nav_count("open_anomalies", count_open_anomalies)
        # A project's deletion locks its channels and watches first, in the order notices and verdicts lock them.
        pre_delete.connect(services.lock_before_project_deletion, sender=Project, dispatch_uid="anomalies-deletion")
