"""Drafts of outbound messages.

A draft moves through a small state machine (`Draft.TRANSITIONS`): it waits for review
(`pending`) or for delivery (`scheduled`); delivery makes it `sent` or `failed`; a pending
response draft that a newer one replaces is `superseded`.

A draft is its own outbox row (hyperrep/outbox): a scheduled draft is due at its
`next_attempt_at`, and the worker delivers it over the organization's channel
(apps/delivery), recording each attempt on the row.
"""

from typing import ClassVar

from django.db import models
from django.utils import timezone

from apps.contacts.models import Contact
from apps.conversations.models import Conversation
from hyperrep import ids
from hyperrep.jsonb import JSONField
from hyperrep.outbox.models import OutboxItem
from hyperrep.tenancy.models import PublicIdModel


class DraftModality(models.TextChoices):
    """The channels a draft goes out on."""

    EMAIL = "email"
    TEXT = "text"


class DraftStatus(models.TextChoices):
    PENDING = "pending"  # waits for review
    SCHEDULED = "scheduled"  # waits for delivery at scheduled_send_at
    SENT = "sent"
    FAILED = "failed"
    SUPERSEDED = "superseded"  # replaced by a newer draft before it was sent


class IllegalTransition(Exception):
    pass


def mint_message_id() -> str:
    return ids.mint("msg")


class Draft(PublicIdModel, OutboxItem):
    TRANSITIONS: ClassVar[dict[str, frozenset[str]]] = {
        DraftStatus.PENDING: frozenset({DraftStatus.SCHEDULED, DraftStatus.SUPERSEDED}),
        DraftStatus.SCHEDULED: frozenset({DraftStatus.SENT, DraftStatus.FAILED}),
        DraftStatus.FAILED: frozenset({DraftStatus.SCHEDULED}),  # a retry
        # The provider reported, after the send, that it never arrived (a bounce, a text the
        # carrier could not deliver); its message stays, a record of what was sent.
        DraftStatus.SENT: frozenset({DraftStatus.FAILED}),
        DraftStatus.SUPERSEDED: frozenset(),
    }

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")
    # The channel it goes out on: chosen when the draft is made, so a later message in the
    # conversation cannot change where an approved draft is delivered.
    modality = models.CharField(max_length=16, choices=DraftModality.choices)
    body_html = models.TextField(null=True, blank=True)
    cc_emails = JSONField(default=list, blank=True)
    bcc_emails = JSONField(default=list, blank=True)
    add_notification = models.BooleanField(default=False)
    scheduled_to_send = models.BooleanField(default=False)
    status = models.CharField(
        max_length=16, choices=DraftStatus.choices, default=DraftStatus.PENDING
    )
    scheduled_send_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The public id of the message it becomes once delivered: fixed from the start, so that
    # the email's Message-ID (<msg_…@domain>) is the same on every attempt.
    message_public_id = models.CharField(max_length=255, default=mint_message_id, editable=False)
    # What the provider calls the sent message (Twilio's MessageSid, an ESP's id).
    provider_message_id = models.CharField(max_length=255, null=True, blank=True, editable=False)
    # What the provider last reported of it after the send: delivered, undelivered, failed
    # (Twilio's status callbacks), bounced (a delivery status notification).
    delivery_status = models.CharField(max_length=32, null=True, blank=True, editable=False)

    class Meta(PublicIdModel.Meta):
        abstract = True

    @property
    def failure_reason(self) -> str | None:
        """Why a failed draft could not be delivered (null unless it failed)."""
        return self.last_error if self.status == DraftStatus.FAILED else None

    @staticmethod
    def sent_as_indexes(prefix: str) -> list[models.Index]:
        """How a provider's report finds the draft it is about: by the message's public id
        (an email's Message-ID) or by the provider's id of it (Twilio's MessageSid)."""
        return [
            models.Index(fields=["organization", "message_public_id"], name=f"{prefix}_message"),
            models.Index(
                fields=["organization", "provider_message_id"],
                condition=models.Q(provider_message_id__isnull=False),
                name=f"{prefix}_provider_id",
            ),
        ]

    def move_to(self, status: str) -> None:
        """Change status along the state machine (the caller saves)."""
        if status not in self.TRANSITIONS[self.status]:
            raise IllegalTransition(f"{self.status} -> {status}")
        self.status = status
        self.updated_at = timezone.now()


class MessageDraft(Draft):
    """The first message of a new outbound conversation."""

    public_id = ids.PublicIdField(prefix="mdr")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    subject = models.TextField(null=True, blank=True)
    to_user_name = models.CharField(max_length=255, null=True, blank=True)
    to_email = models.CharField(max_length=254, null=True, blank=True)
    to_phone_number = models.CharField(max_length=64, null=True, blank=True)
    folder = models.CharField(max_length=255, default="Inbox")  # the display name given

    class Meta(Draft.Meta):
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="mdr_newest"),
            OutboxItem.due_index("mdr_due"),
            *Draft.sent_as_indexes("mdr"),
        ]


class ResponseDraft(Draft):
    """A reply in an existing conversation. At most one is pending per conversation, enforced
    by a partial unique index, so concurrent requests cannot leave two."""

    public_id = ids.PublicIdField(prefix="rdr")
    # response_draft_history leads with the conversation, so the key needs no index of its own.
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta(Draft.Meta):
        constraints = [
            *Draft.Meta.constraints,
            models.UniqueConstraint(
                fields=["organization", "conversation"],
                condition=models.Q(status=DraftStatus.PENDING),
                name="response_draft_one_pending",
            ),
        ]
        indexes = [
            models.Index(
                fields=["conversation", "-created_at", "-id"], name="response_draft_history"
            ),
            OutboxItem.due_index("rdr_due"),
            *Draft.sent_as_indexes("rdr"),
        ]
