from django.db import models
from django.utils import timezone

from apps.agents.models import Agent
from hyperrep import ids
from hyperrep.jsonb import JSONField
from hyperrep.tenancy.models import PublicIdModel


class Company(PublicIdModel):
    public_id = ids.PublicIdField(prefix="cmp")
    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=253, null=True, blank=True)
    address = models.TextField(null=True, blank=True)
    custom_fields = JSONField(default=dict, blank=True)
    agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.SET_NULL, related_name="companies"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        verbose_name_plural = "companies"
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="company_newest_first")
        ]

    def __str__(self) -> str:
        return self.name
