from django.db import models

from flux.tenants.models import Project

TEXT_MAX_LENGTH = 1000


class Annotation(models.Model):
    """A note on the project's timeline (a deploy, a campaign), at an instant or over a range, drawn on graphs."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True, help_text="Empty for an instant.")
    text = models.CharField(max_length=TEXT_MAX_LENGTH)
    tags = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=200, blank=True, help_text="A username or an API key's prefix.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [models.Index(fields=["project", "starts_at"], name="annotation_project_start")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True) | models.Q(ends_at__gte=models.F("starts_at")),
                name="annotation_ends_after_it_starts",
            )
        ]

    def __str__(self) -> str:
        return f"{self.text[:40]} ({self.starts_at:%Y-%m-%d %H:%M})"
