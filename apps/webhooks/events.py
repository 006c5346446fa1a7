"""Recording events, in the transaction of the change they report: one `Delivery` a
subscribed, enabled endpoint, all in one INSERT, so an event for a write that rolls back is
never sent, and none is lost. An organization none of whose endpoints subscribe to an event
records nothing for it (an import of a million messages makes no million rows).

The body is rendered then: its `data` is what a `GET` of the object answered at that
moment, by the API's selectors and serializers, which rendering.py registers here when the
app loads (the domain speaks no HTTP)."""

from collections.abc import Callable
from typing import Any

from django.utils import timezone

from apps.organizations.models import Organization
from apps.webhooks.models import EVERY_EVENT, Delivery, Endpoint
from hyperrep import ids

# event type -> (organization, the row) -> its API rendering; and the API's JSON encoding.
RENDERERS: dict[str, Callable[[Organization, Any], Any]] = {}
ENCODE: list[Callable[[Any], bytes]] = []


def subscribers(organization: Organization | int, event_type: str) -> list[Endpoint]:
    """The organization's enabled endpoints that receive this event type."""
    return [
        endpoint
        for endpoint in Endpoint.objects.for_org(organization).filter(enabled=True).only("events")
        if event_type in endpoint.events or EVERY_EVENT in endpoint.events
    ]


def emit(organization: Organization, event_type: str, *rows: Any) -> None:
    """Record an event of `event_type` about each row for the organization's subscribers
    (its data rendered only when one subscribes), all in one INSERT. The caller is in the
    change's transaction."""
    endpoints = subscribers(organization, event_type)
    if not endpoints or not rows:
        return
    now = timezone.now()
    deliveries = []
    for row in rows:
        event_id = ids.mint("evt")
        body = ENCODE[0](
            {
                "id": event_id,
                "type": event_type,
                "created_at": now,
                "organization_id": organization.public_id,
                "data": RENDERERS[event_type](organization, row),
            }
        ).decode()
        deliveries += [
            Delivery(
                organization_id=organization.pk,
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                body=body,
                created_at=now,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
    Delivery.objects.bulk_create(deliveries)
