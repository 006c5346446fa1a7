"""Conversations with contacts, their messages and the links tracked in sent messages."""

from django.db import models
from django.utils import timezone

from apps.agents.models import Agent
from apps.contacts.models import Contact
from hyperrep import ids
from hyperrep.jsonb import JSONField
from hyperrep.tenancy.models import PublicIdModel


class Modality(models.TextChoices):
    EMAIL = "email"
    TEXT = "text"
    CALL = "call"
    LIVE_CHAT = "live_chat"
    FORM = "form"


class Direction(models.TextChoices):
    RECEIVED = "received"  # from the contact
    SENT = "sent"  # to the contact


class Conversation(PublicIdModel):
    """A thread with one contact.

    Some columns are derived from the messages, and every path that writes messages
    recomputes them in the same transaction (`services.conversations_touch`):
    `last_activity_at`, the latest `sent_at` (its `start_at` while it has none), and what
    analytics read (docs/analytics.md): the first inbound message's `sent_at` and modality,
    and the microseconds from it to the first response (null: none, or no inbound at all).
    """

    public_id = ids.PublicIdField(prefix="cnv")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="conversations")
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversations"
    )
    folder = models.SlugField(max_length=100, default="inbox")
    is_read = models.BooleanField(default=False)
    start_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)
    first_inbound_at = models.DateTimeField(null=True, blank=True, editable=False)
    first_inbound_modality = models.CharField(
        max_length=16, choices=Modality.choices, null=True, blank=True, editable=False
    )
    response_time_us = models.BigIntegerField(
        "time to first response (microseconds)", null=True, blank=True, editable=False
    )
    # Names the conversation in the reply+<token>@<reply domain> address its emails go out
    # with; made when the first one does (apps/delivery).
    reply_token = models.CharField(max_length=32, null=True, blank=True, editable=False)

    class Meta(PublicIdModel.Meta):
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["organization", "reply_token"],
                condition=models.Q(reply_token__isnull=False),
                name="conversation_reply_token",
            ),
        ]
        indexes = [
            # Analytics of a window: one range scan that reads nothing but the index.
            models.Index(
                fields=[
                    "organization",
                    "first_inbound_at",
                    "first_inbound_modality",
                    "response_time_us",
                ],
                name="conversation_first_inbound",
            ),
            # A window's response time at a rank, within one response band (apps/analytics).
            models.Index(
                fields=["organization", "response_time_us", "first_inbound_at"],
                name="conversation_response_time",
            ),
            models.Index(
                fields=["organization", "-start_at", "-id"], name="conversation_newest_first"
            ),
            models.Index(
                fields=["organization", "folder", "-start_at", "-id"],
                name="conversation_by_folder",
            ),
            models.Index(
                fields=["organization", "is_read", "-start_at", "-id"],
                name="conversation_by_is_read",
            ),
            models.Index(
                fields=["organization", "contact", "-start_at", "-id"],
                name="conversation_by_contact",
            ),
            models.Index(
                fields=["organization", "agent", "-start_at", "-id"],
                name="conversation_by_agent",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class Message(PublicIdModel):
    public_id = ids.PublicIdField(prefix="msg")
    # No index of its own: (conversation, sent_at, id) below serves every lookup by it.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    modality = models.CharField(max_length=16, choices=Modality.choices)
    direction = models.CharField(max_length=16, choices=Direction.choices)
    subject = models.TextField(null=True, blank=True)
    content = models.TextField(null=True, blank=True)
    call_transcript = models.TextField(null=True, blank=True)
    call_duration = models.PositiveIntegerField(null=True, blank=True)
    form_request_body = JSONField(null=True, blank=True)
    sent_at = models.DateTimeField()
    drafted_at = models.DateTimeField(null=True, blank=True)
    email_message_id = models.CharField(max_length=998, null=True, blank=True)
    cc_emails = JSONField(default=list, blank=True)
    bcc_emails = JSONField(default=list, blank=True)

    class Meta(PublicIdModel.Meta):
        indexes = [
            models.Index(fields=["conversation", "sent_at", "id"], name="message_chronological"),
            # Analytics' message counts of a window, from the index alone.
            models.Index(
                fields=["organization", "sent_at", "direction"], name="message_by_sent_at"
            ),
            # An inbound email finds the conversation it answers by the Message-IDs it names.
            models.Index(
                fields=["organization", "email_message_id"],
                condition=models.Q(email_message_id__isnull=False),
                name="message_by_email_id",
            ),
        ]

    @property
    def is_form_request(self) -> bool:
        return self.modality == Modality.FORM

    def __str__(self) -> str:
        return self.public_id


class TrackedLink(PublicIdModel):
    """A link in a sent message whose clicks are counted."""

    public_id = ids.PublicIdField(prefix="lnk")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="tracked_links")
    url = models.TextField()
    click_count = models.PositiveIntegerField(default=0)

    class Meta(PublicIdModel.Meta):
        pass

    def __str__(self) -> str:
        return self.url
