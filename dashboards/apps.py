from django.apps import AppConfig
from django.db.models.signals import post_save


class DashboardsConfig(AppConfig):
    name = "dashboards"

    def ready(self) -> None:
        from flux.tenants.models import Project

        # A signal, not a call in create_project: projects are also created in the admin and by provisioning.
        post_save.connect(give_new_projects_a_dashboard, sender=Project, dispatch_uid="default-dashboard")


def give_new_projects_a_dashboard(sender: type, instance: object, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from dashboards.services import create_default_dashboard

        create_default_dashboard(instance)
