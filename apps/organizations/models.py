"""The tenant, and the configuration it owns: its channels."""

from django.db import models
from django.utils import timezone

from hyperrep import ids
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


class Channel(TenantModel):
    """How an organization sends one kind of message. Drafts of a kind the organization has
    not enabled are refused."""

    kind = models.CharField(max_length=16, choices=ChannelKind.choices)
    enabled = models.BooleanField(default=True)
    # What the delivery worker needs (sender address, provider credentials reference, ...).
    settings = JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="channel_one_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.kind} ({'enabled' if self.enabled else 'disabled'})"
