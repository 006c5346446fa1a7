from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from apps.drafts.models import Draft, IllegalTransition, MessageDraft, ResponseDraft
from apps.drafts.services import draft_schedule
from hyperrep.tenancy.admin import OutboxAdmin


class DraftAdmin(OutboxAdmin):
    """Drafts are written by the API and moved by delivery; here they are reviewed. The one
    change the admin makes goes through the state machine: approving a pending draft (or
    retrying a failed one) schedules it for delivery now."""

    actions = ("schedule_now",)

    def get_list_filter(self, request: HttpRequest) -> Any:
        return ("status", "modality", *super().get_list_filter(request))

    @admin.action(description="Schedule selected drafts for delivery now", permissions=["act"])
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
        "organization_name",
        "modality",
        "to_email",
        "to_phone_number",
        "status",
        "scheduled_send_at",
        "created_at",
    )
    search_fields = ("public_id__exact", "to_email", "to_phone_number")
    ordering = ("-created_at", "-id")


@admin.register(ResponseDraft)
class ResponseDraftAdmin(DraftAdmin):
    list_display = (
        "public_id",
        "organization_name",
        "modality",
        "status",
        "scheduled_send_at",
        "created_at",
    )
    search_fields = ("public_id__exact",)
    ordering = ("-created_at", "-id")
