from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.drafts.models import Channel, Draft, IllegalTransition, MessageDraft, ResponseDraft
from apps.drafts.services import draft_schedule
from apps.organizations.admin import TenantAdmin


class ChannelInline(admin.TabularInline):
    """The organization's channels, on its own page: which kinds of drafts it may send."""

    model = Channel
    fields = ("kind", "enabled", "settings", "created_at")
    readonly_fields = ("created_at",)
    extra = 0
    max_num = len(Channel._meta.get_field("kind").choices or ())


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("kind", "organization", "enabled", "created_at")
    list_filter = ("kind", "enabled")
    list_select_related = ("organization",)
    search_fields = ("organization__name", "organization__public_id")
    autocomplete_fields = ("organization",)
    readonly_fields = ("created_at",)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # A channel never moves to another organization, as tenant rows never do.
        fields = tuple(super().get_readonly_fields(request, obj))
        return (*fields, "organization") if obj is not None else fields


class DraftAdmin(TenantAdmin):
    """Drafts are written by the API and moved by delivery; here they are reviewed. The one
    change the admin makes goes through the state machine: approving a pending draft (or
    retrying a failed one) schedules it for delivery now."""

    actions = ("schedule_now",)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("status", "modality", *super().get_list_filter(request))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # no form edits a draft; the action below is the one way to move it

    def has_schedule_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)

    @admin.action(description="Schedule selected drafts for delivery now", permissions=["schedule"])
    def schedule_now(self, request: HttpRequest, queryset: QuerySet[Draft]) -> None:
        scheduled, refused = 0, 0
        for draft in queryset:
            try:
                draft_schedule(draft, send_at=timezone.now())
                scheduled += 1
            except IllegalTransition:
                refused += 1
        self.message_user(request, f"{scheduled} scheduled.")
        if refused:
            self.message_user(
                request,
                f"{refused} left alone: only pending or failed drafts can be scheduled.",
                messages.WARNING,
            )


@admin.register(MessageDraft)
class MessageDraftAdmin(DraftAdmin):
    list_display = (
        "public_id",
        "organization",
        "modality",
        "to_email",
        "to_phone_number",
        "status",
        "scheduled_send_at",
        "created_at",
    )
    search_fields = ("public_id", "to_email", "to_phone_number")
    raw_id_fields = ("conversation", "contact")


@admin.register(ResponseDraft)
class ResponseDraftAdmin(DraftAdmin):
    list_display = (
        "public_id",
        "organization",
        "modality",
        "status",
        "scheduled_send_at",
        "created_at",
    )
    search_fields = ("public_id",)
    raw_id_fields = ("conversation",)
