from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.inbound.form import snippet
from apps.inbound.models import EventStatus, InboundEvent
from apps.organizations.models import Channel, ChannelKind
from hyperrep.tenancy.admin import OutboxAdmin

SHOWN_BYTES = 20_000
RECENT_EVENTS = 20


def inbound_addresses(channel: Channel) -> str:
    """Where a channel receives, for its admin page: the routes under PUBLIC_URL, and for a
    form channel the HTML to paste into a page."""
    base = settings.PUBLIC_URL or "https://<this server>"
    token = channel.inbound_token
    if channel.kind == ChannelKind.EMAIL:
        return format_html(
            "Raw email: <code>POST {}/inbound/email/{}</code> (message/rfc822)<br>"
            "An ESP's inbound webhook: <code>{}/inbound/email/{}/&lt;esp&gt;</code><br>"
            "An MTA's pipe: <code>manage.py ingest_email --channel {}</code>",
            base,
            token,
            base,
            token,
            token,
        )
    if channel.kind == ChannelKind.TEXT:
        return format_html(
            "Twilio's incoming-message webhook: <code>{}/inbound/text/{}</code><br>"
            "Status callbacks of the texts it sends: <code>{}/inbound/text/{}/status</code>",
            base,
            token,
            base,
            token,
        )
    return format_html(
        "<code>POST {}/inbound/form/{}</code>; a form to paste into a page:"
        "<pre style='white-space: pre-wrap'>{}</pre>",
        base,
        token,
        snippet(f"{base}/inbound/form/{token}"),
    )


def recent_events(channel: Channel) -> str:
    events = (
        InboundEvent.objects.for_org(channel.organization_id)
        .filter(channel=channel)
        .order_by("-received_at", "-id")[:RECENT_EVENTS]
    )
    rows = format_html_join(
        "",
        '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
        (
            (
                reverse("admin:inbound_inboundevent_change", args=[event.pk]),
                f"{event.received_at:%Y-%m-%d %H:%M:%S}",
                event.source,
                event.status,
                event.last_error or "",
            )
            for event in events
        ),
    )
    if not rows:
        return "None yet."
    head = format_html_join(
        "", "<th>{}</th>", ((name,) for name in ("received", "source", "status", "error"))
    )
    return format_html("<table><tr>{}</tr>{}</table>", head, rows)


@admin.register(InboundEvent)
class InboundEventAdmin(OutboxAdmin):
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

    @admin.action(description="Process selected failed events again", permissions=["act"])
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
