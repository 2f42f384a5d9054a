from django.apps import AppConfig


class TenantsConfig(AppConfig):
    name = "flux.tenants"
    label = "tenants"
    verbose_name = "Projects and API keys"
