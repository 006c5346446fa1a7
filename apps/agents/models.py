from django.db import models
from django.utils import timezone

from hyperrep import ids
from hyperrep.tenancy.models import PublicIdModel


class Agent(PublicIdModel):
    """One of the organization's sales reps. Created in the admin or by import."""

    public_id = ids.PublicIdField(prefix="agt")
    name = models.CharField(max_length=255)
    email = models.EmailField(max_length=254, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        indexes = [models.Index(fields=["organization", "name", "id"], name="agent_by_name")]

    def __str__(self) -> str:
        return self.name
