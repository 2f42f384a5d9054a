from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from flux.tenants import services
from flux.tenants.models import ApiKey, Membership, Project


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ["prefix", "kind", "name", "provisioned", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Project | None = None) -> bool:
        return False  # keys are created on the API key page, which shows the new key once


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "environment", "timezone", "retention_days", "archived", "created_at"]
    list_filter = ["environment", "archived"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["created_at", "updated_at", "add_key_link"]
    inlines = [MembershipInline, ApiKeyInline]
    actions = ["archive", "unarchive"]

    def delete_model(self, request: HttpRequest, obj: Project) -> None:
        services.delete_project(obj)

    def get_deleted_objects(self, objs: object, request: HttpRequest) -> tuple:
        # Keys are never deleted one by one (revoked, so that their history stays), but they go with their
        # project: without this the admin refused every project deletion for want of that permission.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(ApiKey._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            services.delete_project(project)

    @admin.display(description="API keys")
    def add_key_link(self, project: Project) -> str:
        if project.pk is None:
            return "Save the project first, then add keys."
        url = reverse("admin:tenants_apikey_add") + f"?project={project.pk}"
        return format_html('<a class="addlink" href="{}">Add an API key</a>', url)

    @admin.action(description="Archive selected projects (their keys stop working)")
    def archive(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            services.set_archived(project, True)
        self.message_user(request, f"Archived {queryset.count()} project(s).")

    @admin.action(description="Restore selected projects from the archive")
    def unarchive(self, request: HttpRequest, queryset: QuerySet[Project]) -> None:
        for project in queryset:
            services.set_archived(project, False)
        self.message_user(request, f"Restored {queryset.count()} project(s).")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "project", "kind", "name", "provisioned", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["kind", "provisioned", "project"]
    search_fields = ["prefix", "name", "project__name", "project__slug"]
    actions = ["revoke"]

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return ["project", "kind", "name"]
        return ["project", "kind", "name", "prefix", "provisioned", "created_at", "last_used_at", "revoked_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> list[str]:
        if obj is None:
            return []
        return ["project", "kind", "prefix", "provisioned", "created_at", "last_used_at", "revoked_at"]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        issued = services.issue_key(obj.project, obj.kind, name=obj.name)
        obj.pk, obj.prefix = issued.api_key.pk, issued.api_key.prefix
        messages.warning(
            request,
            f"New {obj.kind} key for {obj.project}: {issued.raw_key} — copy it now, it will not be shown again.",
        )

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False  # revoke instead, so the key's history (last used, who) stays visible

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            services.revoke_key(api_key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).")
