from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.inbound.models import EventStatus, InboundEvent
from hyperrep.tenancy.admin import TenantAdmin

SHOWN_BYTES = 20_000


@admin.register(InboundEvent)
class InboundEventAdmin(TenantAdmin):
    """What came in, as it arrived: refused requests with the reason they were answered 400,
    events whose processing failed with its error. Failed events can be processed again."""

    list_display = (
        "received_at",
        "organization_name",
        "source",
        "status",
        "attempts",
        "last_error",
        "message_link",
    )
    list_filter = ("status", "source", "organization")
    list_select_related = ("organization", "message")
    search_fields = ("provider_message_id__exact", "message__public_id__exact")
    ordering = ("-received_at", "-id")
    readonly_fields = (
        "organization",
        "channel",
        "source",
        "esp",
        "received_at",
        "status",
        "last_error",
        "attempts",
        "next_attempt_at",
        "provider_message_id",
        "message_link",
        "content_type",
        "headers",
        "raw",
    )
    fields = readonly_fields
    actions = ("process_again",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_process_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)

    @admin.display(description="message")
    def message_link(self, event: InboundEvent) -> str:
        if event.message is None:
            return "-"
        url = reverse("admin:conversations_message_change", args=[event.message_id])
        return format_html('<a href="{}">{}</a>', url, event.message.public_id)

    @admin.display(description="body as received")
    def raw(self, event: InboundEvent) -> str:
        body = bytes(event.body)
        shown = body[:SHOWN_BYTES].decode("utf-8", "replace")
        more = f"\n… ({len(body) - SHOWN_BYTES} more bytes)" if len(body) > SHOWN_BYTES else ""
        return format_html("<pre style='white-space: pre-wrap'>{}{}</pre>", shown, more)

    @admin.action(description="Process selected failed events again", permissions=["process"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[InboundEvent]) -> None:
        again = queryset.filter(status=EventStatus.FAILED).update(
            status=EventStatus.RECEIVED,
            next_attempt_at=timezone.now(),
            attempts=0,
            last_error=None,
            claimed_until=None,
            claimed_by=None,
        )
        self.message_user(request, f"{again} failed events will be processed again.")
