from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from apps.agents.models import Agent
from apps.organizations.models import TenantModel
from hyperrep.api import ids
from hyperrep.api.jsonb import JSONField


class Company(TenantModel):
    public_id = ids.PublicIdField(prefix="cmp")
    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=253, null=True, blank=True)
    address = models.TextField(null=True, blank=True)
    custom_fields = JSONField(default=dict, blank=True)
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="companies"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name_plural = "companies"
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="company_newest_first")
        ]

    def clean(self) -> None:
        # The admin's guard; API services resolve related ids through for_org() instead.
        if self.agent is not None and self.agent.organization_id != self.organization_id:
            raise ValidationError({"agent": "Agent of another organization."})

    def __str__(self) -> str:
        return self.name
