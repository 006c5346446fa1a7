"""Sales: quotes an agent sends a company's contacts, with their status history.

Draft sales exist internally (imported or made in the admin) and never appear in the API.
"""

from django.db import models
from django.utils import timezone

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation
from hyperrep import ids
from hyperrep.jsonb import JSONField
from hyperrep.tenancy.models import PublicIdModel, TenantModel


class SaleStatus(models.TextChoices):
    QUOTE_SENT = "quote_sent"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    LOST = "lost"


class Sale(PublicIdModel):
    public_id = ids.PublicIdField(prefix="sal")
    is_draft = models.BooleanField(default=False)
    company = models.ForeignKey(
        Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales"
    )
    owner = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="sales"
    )
    # {output: {currency, total_price}, arguments: {products: [...]}, agent_overrides: {...}},
    # prices as two-place decimal strings. Returned whole, never filtered on.
    quote_details = JSONField(default=dict, blank=True)
    custom_fields = JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        indexes = [
            models.Index(
                fields=["organization", "-created_at", "-id"],
                condition=models.Q(is_draft=False),
                name="sale_newest_first",
            ),
            models.Index(
                fields=["organization", "owner", "-created_at", "-id"],
                condition=models.Q(is_draft=False),
                name="sale_by_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class SaleContact(TenantModel):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="sale_contacts")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    is_primary = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sale", "contact"], name="sale_contact_once"
            )
        ]

    def __str__(self) -> str:
        return str(self.contact)


class SaleConversation(TenantModel):
    sale = models.ForeignKey(Sale, on_delete=models.CASCADE, related_name="sale_conversations")
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "sale", "conversation"], name="sale_conversation_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.conversation} with {self.conversation.contact}"


class SaleStatusChange(TenantModel):
    """One entry of a sale's status history; the sale's current status is its latest."""

    # No index of its own: (sale, changed_at, id) below serves every lookup by it.
    sale = models.ForeignKey(
        Sale, on_delete=models.CASCADE, related_name="status_changes", db_index=False
    )
    label = models.CharField(max_length=255)
    # Null for a custom stage of the organization's pipeline.
    status = models.CharField(max_length=16, choices=SaleStatus.choices, null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["sale", "changed_at", "id"], name="sale_status_history")]

    def __str__(self) -> str:
        return self.label
