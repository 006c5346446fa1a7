from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.drafts.models import MessageDraft, ResponseDraft
from apps.inbound.admin import inbound_addresses, recent_events
from apps.organizations.models import Channel, ChannelKind, Organization
from apps.organizations.services import (
    channel_allowed_origins,
    channel_reply_domain,
    channel_sender,
    channel_transport,
)
from hyperrep.errors import ValidationFailed
from hyperrep.tenancy.admin import TenantAdmin, TenantInline

RECENT_DELIVERIES = 20


class ChannelForm(forms.ModelForm):
    """A channel, checked by the rules `configure_channel` applies. The transport is written
    only: the page shows it redacted, and a new URL replaces it."""

    transport = forms.CharField(
        label="new transport",
        required=False,
        # Never rendered back, not even after the form is refused: it may hold a password.
        widget=forms.PasswordInput(attrs={"size": 70, "autocomplete": "off"}, render_value=False),
        help_text="smtp://user:password@mail.example.com:587, smtps://…:465, "
        "anymail+postmark://SERVER_TOKEN@, twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com or "
        "console://. Stored encrypted and never shown again; leave empty to keep the current one.",
    )
    remove_transport = forms.BooleanField(required=False, help_text="Stop sending from it.")
    origins = forms.CharField(
        label="allowed origins",
        required=False,
        widget=forms.TextInput(attrs={"size": 70}),
        help_text="Form: the sites whose pages post the form with fetch (CORS) and that its "
        "redirect may lead to, such as https://acme.example; several separated by spaces.",
    )

    class Meta:
        model = Channel
        fields = ["kind", "enabled", "sender", "reply_domain"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["origins"].initial = " ".join(self.instance.allowed_origins or [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind") or self.instance.kind
        try:
            data["sender"] = channel_sender(kind, data["sender"]) if data.get("sender") else ""
        except ValidationFailed as invalid:
            self.add_error("sender", invalid.message)
        try:
            data["reply_domain"] = channel_reply_domain(kind, data.get("reply_domain") or "")
        except ValidationFailed as invalid:
            self.add_error("reply_domain", invalid.message)
        try:
            self.instance.allowed_origins = channel_allowed_origins(kind, data.get("origins") or "")
        except ValidationFailed as invalid:
            self.add_error("origins", invalid.message)
        if data.get("remove_transport"):
            self.instance.set_transport("", shown="")
        elif data.get("transport"):
            try:
                channel_transport(self.instance, kind, data["transport"])
            except ValidationFailed as invalid:
                self.add_error("transport", invalid.message)
        return data

    def save(self, commit: bool = True) -> Any:
        channel = super().save(commit=False)
        channel.updated_at = timezone.now()
        if commit:
            channel.save()
        return channel


class ChannelInline(TenantInline):
    """The organization's channels, on its own page."""

    model = Channel
    form = ChannelForm
    fields = (
        "kind",
        "enabled",
        "sender",
        "transport_shown",
        "transport",
        "reply_domain",
        "origins",
    )
    readonly_fields = ("transport_shown",)
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
    form = ChannelForm
    list_display = ("kind", "organization_name", "enabled", "sender", "transport_shown")
    list_filter = ("kind", "enabled")
    search_fields = ("organization__name", "organization__public_id__exact", "sender")
    ordering = ("organization__name", "kind")
    fields = (
        "organization",
        "kind",
        "enabled",
        "sender",
        "transport_shown",
        "transport",
        "remove_transport",
        "reply_domain",
        "origins",
        "inbound_token",
        "inbound",
        "updated_at",
        "recent_deliveries",
        "recent_inbound",
    )
    readonly_fields = (
        "transport_shown",
        "inbound_token",
        "inbound",
        "updated_at",
        "recent_deliveries",
        "recent_inbound",
    )

    @admin.display(description="receives at")
    def inbound(self, channel: Channel) -> str:
        return inbound_addresses(channel) if channel.pk is not None else "-"

    @admin.display(description="recent inbound events")
    def recent_inbound(self, channel: Channel) -> str:
        return recent_events(channel) if channel.pk is not None else "-"

    @admin.display(description="recent deliveries and failures")
    def recent_deliveries(self, channel: Channel) -> str:
        """The latest drafts this channel tried to send: status, attempts, last error."""
        if channel.pk is None:
            return "-"
        drafts: list[Any] = []
        for model in (MessageDraft, ResponseDraft):
            drafts += (
                model.objects.for_org(channel.organization_id)
                .filter(modality=channel.kind)
                .exclude(attempts=0, next_attempt_at=None)
                .order_by("-updated_at")[:RECENT_DELIVERIES]
            )
        drafts.sort(key=lambda draft: draft.updated_at, reverse=True)
        if not drafts:
            return "None yet."
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse(f"admin:drafts_{type(d).__name__.lower()}_change", args=[d.pk]),
                    d.public_id,
                    d.status,
                    d.attempts,
                    d.last_error or "",
                    f"{d.updated_at:%Y-%m-%d %H:%M}",
                )
                for d in drafts[:RECENT_DELIVERIES]
            ),
        )
        head = format_html_join(
            "",
            "<th>{}</th>",
            ((name,) for name in ("draft", "status", "attempts", "error", "when")),
        )
        return format_html("<table><tr>{}</tr>{}</table>", head, rows)
