"""What came in: every accepted inbound request, kept as it arrived."""

from django.db import models
from django.utils import timezone

from apps.conversations.models import Message
from apps.organizations.models import Channel
from hyperrep.jsonb import JSONField
from hyperrep.outbox.models import OutboxItem
from hyperrep.tenancy.models import TenantModel


class Source(models.TextChoices):
    EMAIL = "email"  # a raw RFC 5322 message: POST /inbound/email/<token> or ingest_email
    EMAIL_ESP = "email_esp"  # an ESP's inbound webhook (`esp` names it)
    TEXT = "text"  # Twilio's incoming-message webhook
    TEXT_STATUS = "text_status"  # Twilio's status callback of a sent text
    FORM = "form"  # a website's form


class EventStatus(models.TextChoices):
    RECEIVED = "received"  # stored; the worker processes it
    PROCESSED = "processed"  # done: `message` is what it became (or it settled a draft)
    REFUSED = "refused"  # could not be parsed: answered 400, kept to be looked at
    FAILED = "failed"  # processing failed for good (`last_error`); the admin can retry it
    SPAM = "spam"  # a form whose honeypot field was filled: no message
    IGNORED = "ignored"  # nothing to record (`last_error` says why)


class InboundEvent(TenantModel, OutboxItem):
    """One inbound request as it arrived (the raw body, the headers that matter), stored
    before it is answered, and its own outbox row: due when stored, the worker turns it into
    a message. `provider_message_id` (an email's Message-ID, else a digest of its bytes;
    Twilio's MessageSid) is unique per channel, so a provider's retry is one event."""

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    esp = models.CharField(max_length=32, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    content_type = models.CharField(max_length=255, blank=True)
    headers = JSONField(default=dict, blank=True)
    body = models.BinaryField()
    provider_message_id = models.CharField(max_length=998, null=True, blank=True)
    status = models.CharField(
        max_length=16, choices=EventStatus.choices, default=EventStatus.RECEIVED
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "channel", "provider_message_id"],
                condition=models.Q(provider_message_id__isnull=False),
                name="inbound_event_once",
            )
        ]
        indexes = [
            OutboxItem.due_index("inbound_event_due"),
            models.Index(fields=["received_at"], name="inbound_event_by_age"),
            models.Index(
                fields=["organization", "-received_at", "-id"], name="inbound_event_newest"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.status} at {self.received_at:%Y-%m-%d %H:%M:%S}"
