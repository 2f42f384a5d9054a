from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate


def prepare_citus(using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from flux.storage.citus import prepare_database

    prepare_database(connections[using])


def distribute_on_citus(using: str = "default", **kwargs: object) -> None:
    from django.db import connections

    from flux.storage.citus import citus_installed, distribute_tables

    with connections[using].cursor() as cursor:
        if citus_installed(cursor):
            distribute_tables(cursor)


class TenantsConfig(AppConfig):
    name = "flux.tenants"
    label = "tenants"
    verbose_name = "Projects and API keys"

    def ready(self) -> None:
        # Once per `migrate` (this app's signals only): on Citus, the database is made a Citus database
        # before the migrations and the registry's tables distributed after them (flux.storage.citus).
        pre_migrate.connect(prepare_citus, sender=self, dispatch_uid="flux-citus-prepare")
        post_migrate.connect(distribute_on_citus, sender=self, dispatch_uid="flux-citus-distribute")
