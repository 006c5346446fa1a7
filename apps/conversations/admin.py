from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.conversations.models import Conversation, Message, TrackedLink
from apps.conversations.services import conversations_touch
from apps.webhooks.admin import EmitsCreated
from hyperrep.admin import duration
from hyperrep.tenancy.admin import ReadOnlyInline, TenantAdmin, TenantInlineFormSet

# The ignores below: mypy reads TenantAdmin's tuples as fixed-length types.

INLINE_MESSAGES = 100  # a conversation page shows its first messages; the rest are one click away
PREVIEW_LENGTH = 80


def preview(text: str | None) -> str:
    if not text:
        return ""
    line = " ".join(text.split())
    return line if len(line) <= PREVIEW_LENGTH else line[: PREVIEW_LENGTH - 1] + "…"


class FirstMessagesFormSet(TenantInlineFormSet):
    """The conversation's first messages only: one thread can hold thousands."""

    def get_queryset(self) -> QuerySet[Message]:
        if not hasattr(self, "_queryset"):
            self._queryset = super().get_queryset()[:INLINE_MESSAGES]
        return self._queryset


class MessageInline(ReadOnlyInline):
    """Messages are written by the API, imports and delivery, each of which keeps the
    conversation's last_activity_at; here they are only shown."""

    model = Message
    formset = FirstMessagesFormSet
    fields = ("message", "sent_at", "modality", "direction", "agent", "subject", "content_preview")
    readonly_fields = fields
    show_change_link = False  # the row's public id links to the message page instead

    def get_queryset(self, request: HttpRequest) -> QuerySet[Message]:
        return super().get_queryset(request).select_related("agent").order_by("sent_at", "id")

    @admin.display(description="message")
    def message(self, message: Message) -> str:
        url = reverse("admin:conversations_message_change", args=[message.pk])
        return format_html('<a href="{}">{}</a>', url, message.public_id)

    @admin.display(description="content")
    def content_preview(self, message: Message) -> str:
        return preview(message.content or message.call_transcript)


@admin.register(Conversation)
class ConversationAdmin(EmitsCreated, TenantAdmin):
    created_event = "conversation.created"
    list_display = (
        "public_id",
        "contact",
        "agent",
        "folder",
        "is_read",
        "start_at",
        "last_activity_at",
        "organization_name",
    )
    list_filter = ("organization", "folder", "is_read")
    list_select_related = ("organization", "contact", "agent")
    # By its id (ids are case-sensitive), or its contact's name, email or number (any format).
    search_fields = ("public_id__exact", "contact__name", "contact__email")
    phone_search = "contact__phone_e164"
    ordering = ("-start_at", "-id")
    show_full_result_count = False  # one COUNT per page is enough on millions of rows
    fields = (
        "organization",
        "public_id",
        "contact",
        "agent",
        "folder",
        "is_read",
        "start_at",
        "last_activity_at",
        "first_inbound_at",
        "first_inbound_modality",
        "time_to_first_response",
        "all_messages",
    )
    # What follows the messages is recomputed on save instead (services.conversations_touch).
    readonly_fields = (
        "public_id",
        "last_activity_at",
        "first_inbound_at",
        "first_inbound_modality",
        "time_to_first_response",
        "all_messages",
    )
    inlines = (MessageInline,)

    @admin.display(description="time to first response")
    def time_to_first_response(self, conversation: Conversation) -> str:
        return duration(conversation.response_time_us)

    @admin.display(description="messages")
    def all_messages(self, conversation: Conversation) -> str:
        if conversation.pk is None:
            return ""
        url = reverse("admin:conversations_message_changelist")
        count = (
            Message.objects.for_org(conversation.organization_id)
            .filter(conversation=conversation)
            .count()
        )
        shown = f" (the first {INLINE_MESSAGES} are below)" if count > INLINE_MESSAGES else ""
        return format_html(
            '<a href="{}?conversation__id__exact={}">{} messages</a>{}',
            url,
            conversation.pk,
            count,
            shown,
        )

    def save_model(
        self, request: HttpRequest, obj: Conversation, form: ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        # A new start_at is the last activity of a conversation without messages.
        conversations_touch(Conversation.objects.for_org(obj.organization_id).filter(pk=obj.pk))


class TrackedLinkInline(ReadOnlyInline):
    model = TrackedLink
    fields = ("public_id", "url", "click_count")
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(TenantAdmin):
    """View only: a message changed or removed here would leave its conversation's
    last_activity_at (and the analytics built on sent_at) wrong."""

    list_display = (
        "public_id",
        "conversation",
        "modality",
        "direction",
        "sent_at",
        "agent",
        "subject",
        "organization_name",
    )
    list_filter = ("organization", "modality", "direction")
    list_select_related = ("organization", "conversation", "agent")
    search_fields = ("public_id__exact",)  # ids are case-sensitive
    ordering = ("-sent_at", "-id")
    show_full_result_count = False
    readonly_fields = ("public_id",)
    inlines = (TrackedLinkInline,)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
