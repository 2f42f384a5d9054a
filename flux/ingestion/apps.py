from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "flux.ingestion"
    label = "ingestion"
    verbose_name = "Ingestion"
