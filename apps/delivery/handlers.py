"""Delivering drafts: the outbox handler of both kinds of drafts (hyperrep/outbox).

A batch loads its drafts with their conversations and contacts, and the email threads they
reply to, in a few queries. Each attempt finds the organization's channel for the draft's
modality, composes the email or the text, and hands it to the channel's transport, outside
any transaction; the batch's drafts share each channel's transport (one SMTP connection, one
HTTP session), closed when the batch ends. The outcomes are recorded on the drafts in the
outbox's transaction: `sent` messages of their conversations, or drafts `failed`. Transient
failures are retried with exponential backoff over about six hours
(DELIVERY_MAX_ATTEMPTS attempts in all)."""

import logging
from collections import defaultdict
from collections.abc import Sequence
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

from cryptography.fernet import InvalidToken
from django.conf import settings
from django.core.mail import BadHeaderError
from django.utils import timezone

from apps.conversations.models import Message, Modality
from apps.delivery import compose, transports
from apps.delivery.compose import Thread
from apps.delivery.transports.base import Permanent, Transient
from apps.drafts.models import Draft, DraftModality, DraftStatus
from apps.drafts.services import Delivery, drafts_record_delivery, drafts_record_failure
from apps.organizations.models import Channel
from hyperrep import metrics
from hyperrep.errors import ValidationFailed

log = logging.getLogger("hyperrep.delivery")
RETRY_SPAN = timedelta(hours=6)
UNREADABLE = (
    "the channel's transport cannot be decrypted: CHANNEL_SECRET_KEY (or SECRET_KEY) is not "
    "the key it was configured with; restore that key, or configure the transport again"
)


def backoff(max_attempts: int) -> list[timedelta]:
    """Waits that double after each failed attempt and add up to about RETRY_SPAN."""
    waits = max(max_attempts - 1, 0)
    first = RETRY_SPAN / max(2**waits - 1, 1)
    return [first * 2**number for number in range(waits)]


class DraftDelivery:
    """The outbox handler of one draft model (MessageDraft or ResponseDraft)."""

    # Drafts save their own changes (drafts_record_delivery, drafts_record_failure).
    fields: Sequence[str] = ()

    def __init__(self, model: type[Draft]) -> None:
        self.model = model

    def retry_delays(self) -> Sequence[timedelta]:
        return backoff(settings.DELIVERY_MAX_ATTEMPTS)

    def batch(self, keys: Sequence[int]) -> "DraftBatch":
        return DraftBatch(self.model, keys)

    def succeeded(self, done: Sequence[tuple[Any, Any]]) -> None:
        fresh = []
        for draft, delivery in done:
            if draft.status == DraftStatus.SCHEDULED:
                fresh.append((draft, delivery))
            else:  # delivered meanwhile by another attempt
                log.warning(
                    "%s %s delivered again (%s): kept once",
                    self.model.__name__,
                    draft.pk,
                    draft.status,
                )
        drafts_record_delivery(fresh)

    def gave_up(self, failed: Sequence[tuple[Any, str]]) -> None:
        drafts_record_failure([d for d, _reason in failed if d.status == DraftStatus.SCHEDULED])

    def count_attempt(self, draft: Any, outcome: str) -> None:
        metrics.count_delivery(draft.modality, outcome)


class DraftBatch:
    """The drafts of one claim, and the transports their attempts share."""

    def __init__(self, model: type[Draft], keys: Sequence[int]) -> None:
        self.items: list[Draft] = list(
            model.objects.unscoped()  # the claim's drafts, of any organization
            .filter(pk__in=keys)
            .select_related("conversation__contact")
            .order_by("next_attempt_at", "pk")
        )
        self.threads = _threads(self.items)
        self.transports: dict[tuple[int, str], tuple[Channel, Any] | Exception] = {}
        self.closing = ExitStack()

    def __enter__(self) -> "DraftBatch":
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.close()

    def attempt(self, draft: Draft) -> Delivery:
        channel, transport = self._transport(draft.organization_id, draft.modality)
        if draft.modality == DraftModality.EMAIL:
            thread = self.threads.get(draft.conversation_id, [])
            email, composed = compose.email(draft, channel, thread)
            try:
                provider_id = transport.send_email(email)
            except (BadHeaderError, ValueError) as error:  # a line break in a header
                raise Permanent(f"the email cannot be written: {error}") from None
            return Delivery(
                sent_at=timezone.now(),
                subject=composed.subject,
                email_message_id=composed.email_message_id,
                provider_message_id=provider_id,
                tracked_links=composed.tracked_links,
            )
        provider_id = transport.send_text(compose.text(draft, channel))
        return Delivery(sent_at=timezone.now(), provider_message_id=provider_id)

    def _transport(self, organization_id: int, kind: str) -> tuple[Channel, Any]:
        """The organization's channel of this kind and its transport, opened once a batch;
        Permanent when it cannot send, Transient when it cannot be read."""
        known = self.transports.get((organization_id, kind))
        if known is None:
            known = self.transports[organization_id, kind] = self._open(organization_id, kind)
        if isinstance(known, Exception):
            raise known
        return known

    def _open(self, organization_id: int, kind: str) -> tuple[Channel, Any] | Exception:
        channel = Channel.objects.for_org(organization_id).filter(kind=kind).first()
        if channel is None or not channel.enabled:
            return Permanent(f"the organization's {kind} channel is not enabled")
        if not channel.has_transport:
            return Permanent(f"the organization's {kind} channel has no transport")
        try:
            url = channel.transport_url()
        except InvalidToken:  # retried: the key may be put back before the last attempt
            log.error("channel %s: its transport cannot be decrypted", channel.pk)
            return Transient(UNREADABLE)
        try:
            transport = transports.parse(url, kind=kind)
        except ValidationFailed as refused:
            return Permanent(f"the channel's transport {refused.message}")
        self.closing.callback(transport.close)
        return channel, transport


def _threads(drafts: Sequence[Draft]) -> dict[int, Thread]:
    """The emails (Message-ID, subject) of each email draft's conversation, oldest first."""
    conversations = {d.conversation_id for d in drafts if d.modality == DraftModality.EMAIL}
    threads: dict[int, Thread] = defaultdict(list)
    if conversations:
        rows = (
            Message.objects.unscoped()  # the conversations of the claim's drafts
            .filter(conversation_id__in=sorted(conversations), modality=Modality.EMAIL)
            .exclude(email_message_id=None)
            .order_by("conversation_id", "sent_at", "id")
            .values_list("conversation_id", "email_message_id", "subject")
        )
        for conversation_id, message_id, subject in rows:
            threads[conversation_id].append((message_id, subject))
    return threads
