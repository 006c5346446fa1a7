from typing import Any, ClassVar

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.webhooks.events import emit
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from apps.webhooks.services import deliveries_send_again
from hyperrep.tenancy.admin import OutboxAdmin, TenantAdmin

RECENT_DELIVERIES = 20


class EmitsCreated:
    """An admin whose added rows are events (`created_event`), as the API's are: recorded
    once the row and its inlines are saved, in the admin's transaction."""

    created_event: ClassVar[str]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        if not change:
            emit(form.instance.organization, self.created_event, form.instance)


@admin.register(Endpoint)
class EndpointAdmin(TenantAdmin):
    """An organization's webhook endpoints and what was sent to them. Endpoints are made
    through the API (which shows the secret once); here they are watched, re-enabled, and
    their failed deliveries sent again."""

    list_display = ("url", "organization_name", "enabled", "failing_since", "created_at")
    list_filter = ("enabled", "organization")
    search_fields = ("url", "public_id__exact")
    ordering = ("-created_at", "-id")
    fields = (
        "public_id",
        "organization",
        "url",
        "events",
        "description",
        "enabled",
        "failing_since",
        "created_at",
        "recent_deliveries",
    )
    readonly_fields = (
        "public_id",
        "organization",
        "url",
        "events",
        "failing_since",
        "created_at",
        "recent_deliveries",
    )
    actions = ("enable", "retry_failed")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="recent deliveries")
    def recent_deliveries(self, endpoint: Endpoint) -> str:
        deliveries = endpoint.deliveries.order_by("-created_at", "-id")[:RECENT_DELIVERIES]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    f"{d.created_at:%Y-%m-%d %H:%M:%S}",
                    d.event_type,
                    d.status,
                    d.attempts,
                    d.last_status_code or "",
                    d.last_error or "",
                )
                for d in deliveries
            ),
        )
        if not rows:
            return "None yet."
        head = format_html_join(
            "",
            "<th>{}</th>",
            ((n,) for n in ("created", "event", "status", "attempts", "status code", "error")),
        )
        return format_html("<table><tr>{}</tr>{}</table>", head, rows)

    @admin.action(description="Enable selected endpoints again")
    def enable(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = queryset.update(enabled=True, failing_since=None, updated_at=timezone.now())
        self.message_user(request, f"{count} enabled.")

    @admin.action(description="Send the failed deliveries of selected endpoints again")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        count = deliveries_send_again(
            Delivery.objects.unscoped().filter(
                endpoint__in=list(queryset), status=DeliveryStatus.FAILED
            )
        )
        self.message_user(request, f"{count} deliveries will be sent again.")


@admin.register(Delivery)
class DeliveryAdmin(OutboxAdmin):
    list_display = (
        "created_at",
        "organization_name",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
    )
    list_filter = ("status", "event_type", "organization")
    list_select_related = ("organization", "endpoint")
    search_fields = ("public_id__exact", "event_id__exact")
    ordering = ("-created_at", "-id")
    actions = ("send_again",)

    @admin.action(description="Send selected deliveries again now", permissions=["act"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        count = deliveries_send_again(queryset)
        self.message_user(request, f"{count} deliveries will be sent again.")
