"""The tenant, and the configuration it owns: its channels."""

import secrets

from cryptography.fernet import Fernet
from django.conf import settings
from django.db import models
from django.utils import timezone

from hyperrep import ids
from hyperrep.crypto import fernet
from hyperrep.jsonb import JSONField
from hyperrep.tenancy.models import TenantModel


class Organization(models.Model):
    public_id = ids.PublicIdField(prefix="org", unique=True)
    name = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.public_id})"


class ChannelKind(models.TextChoices):
    EMAIL = "email"
    TEXT = "text"
    FORM = "form"  # web forms post to the server; nothing goes out


def mint_inbound_token() -> str:
    # 192 bits, in hex: never starts with "-", which a command line would take for an option.
    return secrets.token_hex(24)


class Channel(TenantModel):
    """How an organization sends (and receives) one kind of message: its sender (an address,
    or a number in E.164), the transport it sends through (a URL such as
    `smtp://user:pass@host:587`), for email a reply domain, and the token that names it in
    inbound URLs. Drafts of a kind whose channel is not enabled, or has no transport, are
    refused.

    The transport holds credentials: it is stored encrypted (`transport_sealed`, with
    CHANNEL_SECRET_KEY, else SECRET_KEY), shown only redacted, and decrypted only by the
    worker, for the call (`transport_url`). Write it through `set_transport`
    (services.channel_configure checks it first)."""

    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    sender = models.CharField(
        "from",
        max_length=255,
        blank=True,
        help_text="Email: an address with an optional name, Acme Roofing <sales@acme.example>. "
        "Text: a number, +15135550100.",
    )
    transport_sealed = models.TextField(blank=True, editable=False)
    transport_shown = models.CharField("transport", max_length=2000, blank=True, editable=False)
    reply_domain = models.CharField(
        max_length=253,
        null=True,
        blank=True,
        help_text="Email: replies go to reply+<token>@ this domain, which names the conversation.",
    )
    inbound_token = models.CharField(max_length=64, unique=True, default=mint_inbound_token)
    allowed_origins = JSONField(
        default=list,
        blank=True,
        help_text="Form: the sites (https://acme.example) whose pages may post the form with "
        "fetch (CORS), and that its redirect may lead to.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="channel_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({'enabled' if self.enabled else 'disabled'})"

    @property
    def has_transport(self) -> bool:
        return bool(self.transport_sealed)

    def set_transport(self, url: str, *, shown: str) -> None:
        self.transport_sealed = _sealer().encrypt(url.encode()).decode() if url else ""
        self.transport_shown = shown if url else ""

    def transport_url(self) -> str:
        return (
            _sealer().decrypt(self.transport_sealed.encode()).decode() if self.has_transport else ""
        )


def _sealer() -> Fernet:
    return fernet("channel.transport", settings.CHANNEL_SECRET_KEY)
