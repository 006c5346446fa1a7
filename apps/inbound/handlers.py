"""Processing stored events: the outbox handler of `InboundEvent` (hyperrep/outbox), and the
worker's pruning of old events.

Each attempt processes one event in its own transaction (services.event_process), which
does nothing for an event processed already: a worker that died between processing and
recording leaves the next one nothing to redo. An event that fails to process is retried
with the delivery's backoff; one that cannot be processed ever (a parser's refusal) is
`failed` with the reason, and the admin can retry it.
"""

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from apps.delivery.handlers import backoff
from apps.inbound import services
from apps.inbound.events import Unparseable
from apps.inbound.models import EventStatus, InboundEvent
from hyperrep import metrics
from hyperrep.bulk import delete_in_batches
from hyperrep.outbox.claims import Permanent

log = logging.getLogger("hyperrep.inbound")


class InboundProcessing:
    model = InboundEvent
    fields = ("status",)

    def retry_delays(self) -> Sequence[timedelta]:
        return backoff(settings.DELIVERY_MAX_ATTEMPTS)

    def batch(self, keys: Sequence[int]) -> "EventBatch":
        return EventBatch(keys)

    def succeeded(self, done: Sequence[tuple[Any, Any]]) -> None:
        """Each attempt committed its own work; an ignored event keeps why."""
        for event, ignored_because in done:
            event.last_error = ignored_because

    def gave_up(self, failed: Sequence[tuple[Any, str]]) -> None:
        for event, _reason in failed:
            if event.status == EventStatus.RECEIVED:
                event.status = EventStatus.FAILED

    def count_attempt(self, event: Any, outcome: str) -> None:
        metrics.count_inbound_event(event.source, outcome)


class EventBatch:
    def __init__(self, keys: Sequence[int]) -> None:
        # Every claimed event, processed or not: an attempt on a processed one is a no-op,
        # and recording it ends its claim.
        self.items = list(
            InboundEvent.objects.unscoped()  # the claim's events, of any organization
            .filter(pk__in=keys)
            .only("pk", "attempts", "status", "source", "request_id")
            .order_by("received_at", "pk")
        )

    def __enter__(self) -> "EventBatch":
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def attempt(self, event: InboundEvent) -> str | None:
        try:
            return services.event_process(event.pk)
        except Unparseable as refused:
            raise Permanent(refused.detail) from None


def prune() -> None:
    """Delete events older than INBOUND_RETENTION_DAYS (not those still to be processed);
    their messages stay."""
    cutoff = timezone.now() - timedelta(days=settings.INBOUND_RETENTION_DAYS)
    old = (
        InboundEvent.objects.unscoped()  # retention is the server's, for every organization
        .filter(received_at__lt=cutoff)
        .exclude(status=EventStatus.RECEIVED)
    )
    deleted = delete_in_batches(old)
    if deleted:
        log.info("pruned %s inbound events older than %s", deleted, cutoff.date())
