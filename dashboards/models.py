from django.conf import settings as django_settings
from django.db import models

from flux.tenants.models import Project


class Dashboard(models.Model):
    """A project's grid of widgets. `settings` holds the dashboard-wide range, timezone, tag filters and
    refresh (dashboards.validation.clean_settings); one dashboard per project is the default."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="dashboards")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100)
    description = models.TextField(blank=True, default="")
    settings = models.JSONField(default=dict)
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["project", "slug"], name="one_dashboard_slug_per_project"),
            models.UniqueConstraint(
                fields=["project"], condition=models.Q(is_default=True), name="one_default_dashboard_per_project"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Widget(models.Model):
    """One tile of a dashboard: a query, how to display it and where it sits on the 12-column grid.
    `query`, `display` and `position` are validated by dashboards.validation.clean_widget."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="widgets")
    title = models.CharField(max_length=200, blank=True, default="")
    type = models.CharField(max_length=10)
    query = models.JSONField(default=dict)
    display = models.JSONField(default=dict)
    position = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.title or f"{self.type} widget"

    def config(self) -> dict:
        return {
            "title": self.title, "type": self.type, "query": self.query, "display": self.display,
            "position": self.position,
        }  # fmt: skip
