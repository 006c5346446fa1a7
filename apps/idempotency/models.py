from django.db import models
from django.utils import timezone

from apps.keys.models import ApiKey
from hyperrep.tenancy.models import TenantModel


class IdempotentRequest(TenantModel):
    """A `POST` sent with an `Idempotency-Key`: while it runs, the row is its in-flight mark
    (`status_code` null, held until `locked_until`); then it keeps the answer, replayed to a
    repeat for 24 hours. Bound to the organization and the API key of the request, so no
    other key or organization can read or collide with it."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    # SHA-256 of the method, the path with its query string, and the body.
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(default=b"")
    locked_until = models.DateTimeField(null=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "api_key", "key"], name="idempotency_key_once"
            )
        ]
