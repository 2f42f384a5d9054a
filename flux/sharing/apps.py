from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "flux.sharing"
    label = "sharing"  # the label it had as a top-level app: its table and migrations keep their names
