"""The base of models whose database key is (project_id, id) while Django's pk is `id` (docs/storage.md, "Keys")."""

from typing import Any

from django.db import models


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
