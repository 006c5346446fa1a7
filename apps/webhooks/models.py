"""Webhook endpoints and their signing secrets."""

import secrets
from base64 import b64encode

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import models
from django.utils import timezone

from hyperrep import ids
from hyperrep.crypto import fernet
from hyperrep.jsonb import JSONField
from hyperrep.outbox.models import OutboxItem
from hyperrep.tenancy.models import PublicIdModel, TenantModel

EVENT_TYPES = (
    "conversation.created",
    "message.received",
    "message.sent",
    "draft.failed",
    "contact.created",
    "company.created",
)
EVERY_EVENT = "*"


class Endpoint(PublicIdModel):
    """A URL of an integration and the events it subscribes to (`["*"]`: every one)."""

    public_id = ids.PublicIdField(prefix="whe")
    url = models.CharField(max_length=2000)
    events = JSONField(default=list)
    description = models.TextField(null=True, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Since when every attempt to it has failed (null: the latest succeeded); after
    # FAILING_DAYS of that, the worker disables it.
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(PublicIdModel.Meta):
        indexes = [models.Index(fields=["organization", "-created_at", "-id"], name="whe_newest")]

    def __str__(self) -> str:
        return self.url

    def live_secrets(self) -> list[str]:
        """The secrets that sign its deliveries now: the current one, and the one rotated
        out last, for a day."""
        now = timezone.now()
        return [
            secret.value()
            for secret in self.secrets.order_by("-created_at", "-id")
            if secret.expires_at is None or secret.expires_at > now
        ]


def mint_secret() -> str:
    """`whsec_` and 24 random bytes in base64, as Standard Webhooks writes a secret."""
    return "whsec_" + b64encode(secrets.token_bytes(24)).decode()


class Secret(TenantModel):
    """A signing secret of an endpoint, stored encrypted (signing needs it in the clear).
    One rotated out keeps signing until `expires_at`."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="secrets")
    sealed = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"secret of {self.endpoint_id} from {self.created_at:%Y-%m-%d %H:%M}"

    @classmethod
    def seal(cls, endpoint: Endpoint, value: str) -> "Secret":
        return cls(
            organization_id=endpoint.organization_id,
            endpoint=endpoint,
            sealed=_sealer().encrypt(value.encode()).decode(),
        )

    def value(self) -> str:
        return _sealer().decrypt(self.sealed.encode()).decode()


def _sealer() -> Fernet:
    return fernet("webhook.secret", settings.CHANNEL_SECRET_KEY)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"  # due, or waiting for its next attempt
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # after the last attempt


class Delivery(PublicIdModel, OutboxItem):
    """One event for one endpoint, and its own outbox row: the worker sends `body` (fixed
    when the event happened: every attempt sends the same bytes, under the same
    `webhook-id`, the event's id, shared by all of its deliveries)."""

    public_id = ids.PublicIdField(prefix="whd")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.CharField(max_length=255)
    event_type = models.CharField(max_length=64)
    body = models.TextField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        verbose_name_plural = "deliveries"
        indexes = [
            models.Index(fields=["endpoint", "-created_at", "-id"], name="whd_newest"),
            OutboxItem.due_index("whd_due"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {self.endpoint_id}: {self.status}"
