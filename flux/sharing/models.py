from django.db import models

from dashboards.models import Dashboard


class ShareLink(models.Model):
    """A public, read-only link to one dashboard. Only the SHA-256 of its token is stored; revocable, may expire."""

    dashboard = models.ForeignKey(Dashboard, on_delete=models.CASCADE, related_name="share_links")
    hashed_token = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, help_text="The token's first characters, to recognise the link.")
    created_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.dashboard})"
