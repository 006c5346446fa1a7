"""Endpoints: created, changed, deleted, their secrets rotated."""

from collections.abc import Sequence
from datetime import timedelta

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.organizations.models import Organization
from apps.webhooks import addresses
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint, Secret, mint_secret
from hyperrep.errors import InvalidValue

# A rotated-out secret keeps signing for this long, while the receiver switches.
ROTATION_OVERLAP = timedelta(hours=24)


def _checked_url(url: str) -> str:
    """The URL, when a webhook may go there (its host resolves to public addresses only,
    unless private networks are allowed); `400 Invalid url` otherwise."""
    try:
        addresses.resolve(url)
    except addresses.Refused:
        raise InvalidValue("Invalid url") from None
    return url


@transaction.atomic
def endpoint_create(
    *,
    organization: Organization,
    url: str,
    events: Sequence[str],
    description: str | None = None,
) -> tuple[Endpoint, str]:
    """The new endpoint and its secret (which is never shown again)."""
    endpoint = Endpoint.objects.create(
        organization=organization,
        url=_checked_url(url),
        events=list(events),
        description=description,
    )
    secret = mint_secret()
    Secret.seal(endpoint, secret).save()
    return endpoint, secret


@transaction.atomic
def endpoint_update(endpoint: Endpoint, **changes: object) -> Endpoint:
    """Change its url, events, description or enabled (the ones given)."""
    if "url" in changes:
        changes["url"] = _checked_url(str(changes["url"]))
    for name, value in changes.items():
        setattr(endpoint, name, value)
    endpoint.updated_at = timezone.now()
    endpoint.save(update_fields=[*changes, "updated_at"])
    return endpoint


@transaction.atomic
def endpoint_rotate_secret(endpoint: Endpoint) -> str:
    """A new secret; the current one keeps signing for ROTATION_OVERLAP, and one rotated out
    before stops now (at most two sign: the header does not grow with each rotation)."""
    now = timezone.now()
    endpoint.secrets.exclude(expires_at=None).filter(expires_at__gt=now).update(expires_at=now)
    endpoint.secrets.filter(expires_at=None).update(expires_at=now + ROTATION_OVERLAP)
    secret = mint_secret()
    Secret.seal(endpoint, secret).save()
    return secret


@transaction.atomic
def endpoint_delete(endpoint: Endpoint) -> None:
    endpoint.delete()


def deliveries_send_again(deliveries: QuerySet[Delivery]) -> int:
    """Send these deliveries again now, each as one more attempt, whatever its status; how
    many. (A worker still holding one records its outcome, then the row is due again.)"""
    return deliveries.update(
        status=DeliveryStatus.PENDING,
        next_attempt_at=timezone.now(),
        claimed_until=None,
        claimed_by=None,
    )


def delivery_retry(delivery: Delivery) -> Delivery:
    """Send it again now, as one more attempt, whatever its status."""
    rows = Delivery.objects.for_org(delivery.organization_id).filter(pk=delivery.pk)
    deliveries_send_again(rows)
    return rows.get()
