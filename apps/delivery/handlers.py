"""Delivering a draft: the outbox handler of both kinds of drafts (hyperrep/outbox).

An attempt finds the organization's channel for the draft's modality, composes the email or
the text, and hands it to the channel's transport, outside any transaction; the outcome is
recorded on the draft, in the outbox's transaction: a `sent` message of its conversation, or
the draft `failed`. Transient failures are retried with exponential backoff over about six
hours (DELIVERY_MAX_ATTEMPTS attempts in all)."""

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.delivery import compose, transports
from apps.delivery.compose import Composed
from apps.delivery.transports.base import Permanent
from apps.drafts.models import Draft, DraftModality, DraftStatus
from apps.drafts.services import draft_record_delivery, draft_record_failure
from apps.organizations.models import Channel
from hyperrep.errors import ValidationFailed

log = logging.getLogger("hyperrep.delivery")
RETRY_SPAN = timedelta(hours=6)


@dataclass(frozen=True)
class Delivered:
    sent_at: datetime
    provider_message_id: str | None
    composed: Composed


def backoff(max_attempts: int) -> list[timedelta]:
    """Waits that double after each failed attempt and add up to about RETRY_SPAN."""
    waits = max(max_attempts - 1, 0)
    first = RETRY_SPAN / max(2**waits - 1, 1)
    return [first * 2**number for number in range(waits)]


class DraftDelivery:
    """The outbox handler of one draft model (MessageDraft or ResponseDraft)."""

    def __init__(self, model: type[Draft]) -> None:
        self.model = model

    def retry_delays(self) -> Sequence[timedelta]:
        return backoff(settings.DELIVERY_MAX_ATTEMPTS)

    def attempt(self, draft: Draft) -> Delivered:
        draft = (
            self.model.objects.for_org(draft.organization_id)
            .select_related("conversation__contact")
            .get(pk=draft.pk)
        )
        channel = Channel.objects.for_org(draft.organization_id).filter(kind=draft.modality).first()
        if channel is None or not channel.enabled:
            raise Permanent(f"the organization's {draft.modality} channel is not enabled")
        if not channel.has_transport:
            raise Permanent(f"the organization's {draft.modality} channel has no transport")
        try:
            transport = transports.parse(channel.transport_url(), kind=draft.modality)
        except ValidationFailed as refused:
            raise Permanent(f"the channel's transport {refused.message}") from None
        if draft.modality == DraftModality.EMAIL:
            email, composed = compose.email(draft, channel)
            provider_id = transport.send_email(email)
        else:
            provider_id = transport.send_text(compose.text(draft, channel))
            composed = Composed()
        return Delivered(sent_at=timezone.now(), provider_message_id=provider_id, composed=composed)

    def succeeded(self, draft: Draft, delivered: Delivered) -> None:
        if draft.status != DraftStatus.SCHEDULED:  # delivered meanwhile by another attempt
            log.warning(
                "%s %s delivered again (%s): kept once", self.model.__name__, draft.pk, draft.status
            )
            return
        draft_record_delivery(
            draft,
            sent_at=delivered.sent_at,
            subject=delivered.composed.subject,
            email_message_id=delivered.composed.email_message_id,
            provider_message_id=delivered.provider_message_id,
            tracked_links=delivered.composed.tracked_links,
        )

    def gave_up(self, draft: Draft, reason: str) -> None:
        if draft.status == DraftStatus.SCHEDULED:
            draft_record_failure(draft)
