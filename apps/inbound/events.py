"""Storing what came in, before it is answered: one `InboundEvent` a request (or a message
of an ESP's webhook), due for the worker at once. A provider message stored already (the
same Message-ID or MessageSid on the channel: a provider's retry) is not stored again. A
request that cannot be parsed is kept too, `refused`, with the reason it was answered 400.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.inbound.models import EventStatus, InboundEvent
from apps.organizations.models import Channel
from hyperrep.errors import ValidationFailed

log = logging.getLogger("hyperrep.inbound")
# The request headers an event keeps: what tells where it came from and what it is.
KEPT_HEADERS = (
    "Content-Type",
    "Content-Length",
    "User-Agent",
    "Origin",
    "Referer",
    "X-Forwarded-For",
    "X-Request-Id",
    "X-Twilio-Signature",
)


class Unparseable(ValidationFailed):
    """The request is not something this route can take; the reason is the 400's detail."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)


@dataclass(frozen=True)
class Arrival:
    """A request as it arrived, to be stored."""

    channel: Channel
    source: str
    body: bytes
    content_type: str = ""
    headers: dict[str, str] | None = None
    esp: str = ""


def channel_for(token: str, kind: str) -> Channel | None:
    """The enabled channel of this kind its inbound token names, of an active organization."""
    if not token or len(token) > 64:
        return None
    return (
        Channel.objects.unscoped()  # the token names the organization
        .select_related("organization")
        .filter(inbound_token=token, kind=kind, enabled=True, organization__is_active=True)
        .first()
    )


def digest_id(body: bytes) -> str:
    """The dedupe key of an email without a Message-ID: the same bytes are the same email."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


def event_store(arrival: Arrival, *, provider_message_id: str | None) -> InboundEvent | None:
    """Store the arrival, due for processing now; None when the channel has this provider
    message already."""
    now = timezone.now()
    event = _event(arrival, received_at=now)
    event.provider_message_id = provider_message_id
    event.next_attempt_at = now
    try:
        with transaction.atomic():
            event.save(force_insert=True)
    except IntegrityError:
        # The constraint inbound_event_once: a concurrent request's insert waited for, or
        # an earlier one. Either way the provider's message is stored, once.
        if provider_message_id is None:
            raise
        log.info("inbound %s: %s is stored already", arrival.source, provider_message_id)
        return None
    return event


def event_refuse(arrival: Arrival, reason: str) -> InboundEvent:
    """Keep a request that could not be parsed, with the reason it was refused."""
    event = _event(arrival, received_at=timezone.now())
    event.status, event.last_error = EventStatus.REFUSED, reason
    event.save(force_insert=True)
    log.info("inbound %s for channel %s refused: %s", arrival.source, arrival.channel.pk, reason)
    return event


def _event(arrival: Arrival, *, received_at: datetime) -> InboundEvent:
    return InboundEvent(
        organization_id=arrival.channel.organization_id,
        channel=arrival.channel,
        source=arrival.source,
        esp=arrival.esp,
        received_at=received_at,
        content_type=arrival.content_type[:255],
        headers=arrival.headers or {},
        body=arrival.body,
    )


def kept_headers(headers: object) -> dict[str, str]:
    """The request headers an event keeps (a Django request's `headers`)."""
    get = headers.get  # type: ignore[attr-defined]
    return {name: str(get(name))[:1000] for name in KEPT_HEADERS if get(name) is not None}
