"""The base of models whose database key is (project_id, id) while Django's pk is `id`, and the foreign key between
such models (docs/storage.md, "Keys")."""

from typing import Any

from django.db import models
from django.db.models.lookups import Exact
from django.db.models.sql.where import AND, WhereNode


class ProjectKeyedModel(models.Model):
    """Saving an existing row updates it by project and id and never rewrites project_id: the key's first
    column, and on a distributed database the column that says which node holds the row (one that refuses
    an UPDATE setting it, even to the same value, unless the WHERE names it)."""

    class Meta:
        abstract = True

    def _do_update(
        self, base_qs: models.QuerySet, using: Any, pk_val: Any, values: list, update_fields: Any, forced_update: bool
    ) -> bool:
        values = [value for value in values if value[0].attname != "project_id"]
        scoped = base_qs.filter(project_id=self.project_id)
        return super()._do_update(scoped, using, pk_val, values, update_fields, forced_update)


class ProjectForeignKey(models.ForeignKey):
    """A foreign key between two project-keyed tables whose joins also match project_id (`JOIN watch ON
    watch.id = anomaly.watch_id AND watch.project_id = anomaly.project_id`): on a distributed database that is
    a join on the distribution column, which stays on one node; the answers are the same everywhere, since
    the database's own foreign key is the composite (project_id, column) one (flux.storage.keys)."""

    def get_extra_restriction(self, alias: str, related_alias: str) -> WhereNode:
        # `alias` is the table of the model pointed at, `related_alias` the one of the model holding the key.
        target_project = self.remote_field.model._meta.get_field("project").get_col(alias)
        own_project = self.model._meta.get_field("project").get_col(related_alias)
        return WhereNode([Exact(target_project, own_project)], connector=AND)

    def deconstruct(self) -> tuple[str, str, list, dict]:
        # The schema is a plain ForeignKey's (only joins differ), so migrations record it as one.
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.ForeignKey", args, kwargs
