from zoneinfo import available_timezones

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models


def validate_timezone(name: str) -> None:
    if name not in available_timezones():
        raise ValidationError(f"{name!r} is not an IANA time zone name (e.g. Europe/Berlin)")


def default_retention_days() -> int:
    return settings.FLUX_DEFAULT_RETENTION_DAYS


class Environment(models.TextChoices):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"


class Project(models.Model):
    """The tenant: every event, metric, dashboard and key belongs to exactly one project."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)
    environment = models.CharField(max_length=20, choices=Environment.choices, default=Environment.PRODUCTION)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    retention_days = models.PositiveIntegerField(
        default=default_retention_days, help_text="How long raw events and metric points are kept."
    )
    archived = models.BooleanField(default=False, help_text="Archived projects refuse every API key.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(retention_days__gte=1), name="retention_at_least_a_day")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner"
    MEMBER = "member"
    VIEWER = "viewer"


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "project"], name="one_membership_per_user_and_project")]

    def __str__(self) -> str:
        return f"{self.user} in {self.project} ({self.role})"


class KeyKind(models.TextChoices):
    INGEST = "ingest", "ingest (write only)"
    READ = "read", "read (query only)"
    ADMIN = "admin", "admin (read, write, manage)"


class ApiKey(models.Model):
    """A project's API key. Only the SHA-256 of the key is stored; the key itself is shown once."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="api_keys")
    kind = models.CharField(max_length=10, choices=KeyKind.choices)
    name = models.CharField(max_length=200, blank=True)
    prefix = models.CharField(max_length=32, help_text="The key's first characters, to recognise it.")
    hashed_key = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    provisioned = models.BooleanField(
        default=False,
        editable=False,
        help_text="Minted by an SDK's provisioning call; revoked if never used within "
        "FLUX_PROVISIONED_KEY_UNUSED_DAYS.",
    )

    class Meta:
        ordering = ["project", "kind", "-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.kind}, {self.project})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
