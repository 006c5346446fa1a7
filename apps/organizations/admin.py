from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.organizations.models import Channel, ChannelKind, Organization
from hyperrep.tenancy.admin import TenantAdmin, TenantInline


class ChannelInline(TenantInline):
    """The organization's channels, on its own page: which kinds of drafts it may send."""

    model = Channel
    fields = ("kind", "enabled", "settings", "created_at")
    readonly_fields = ("created_at",)
    max_num = len(ChannelKind.choices)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "public_id", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "public_id__exact")
    ordering = ("name", "id")
    readonly_fields = ("public_id", "created_at")
    actions = ("deactivate", "activate")

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # Channels are configured on an organization that exists, not while creating one.
        return [ChannelInline] if obj is not None else []

    @admin.action(description="Deactivate selected organizations (their API access stops)")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        queryset.update(is_active=False)

    @admin.action(description="Activate selected organizations")
    def activate(self, request: HttpRequest, queryset: QuerySet[Organization]) -> None:
        queryset.update(is_active=True)


@admin.register(Channel)
class ChannelAdmin(TenantAdmin):
    list_display = ("kind", "organization_name", "enabled", "created_at")
    list_filter = ("kind", "enabled")
    search_fields = ("organization__name", "organization__public_id__exact")
    ordering = ("organization__name", "kind")
    readonly_fields = ("created_at",)
