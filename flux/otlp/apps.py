from django.apps import AppConfig


class OtlpConfig(AppConfig):
    name = "flux.otlp"
    label = "otlp"
    verbose_name = "OpenTelemetry"
