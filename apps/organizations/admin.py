from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.organizations.models import Organization


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "public_id")
    readonly_fields = ("public_id", "created_at")
    actions = ("deactivate", "activate")

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # Imported here: the drafts admin builds on TenantAdmin, defined in this module.
        from apps.drafts.admin import ChannelInline

        # Channels are configured on an organization that exists, not while creating one.
        return [ChannelInline] if obj is not None else []

    @admin.action(description="Deactivate selected organizations (their API access stops)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        queryset.update(is_active=False)

    @admin.action(description="Activate selected organizations")
    def activate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        queryset.update(is_active=True)


class TenantAdmin(admin.ModelAdmin):
    """Browse one model's rows per organization."""

    # Any number of names: every subclass lists its own.
    list_filter: ClassVar[tuple[str, ...]] = ("organization",)
    list_select_related: ClassVar[tuple[str, ...]] = ("organization",)
    readonly_fields: ClassVar[tuple[str, ...]] = ("public_id", "created_at")
    autocomplete_fields = ("organization",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A row never moves to another organization: its relations would cross tenants.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "organization") if obj is not None else fields
