"""Claiming due rows under a lease, and recording what each attempt did.

A claim marks up to `limit` due rows as this worker's until `now + lease`, in one short
transaction: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, so workers on many hosts each
take different rows and never wait on each other; on SQLite every writing transaction holds
the one write lock, so claims take turns. A row whose lease has passed is due again: its
worker died, and the row is retried rather than lost.

An outcome is recorded in its own transaction, on the row locked again and only if this
worker still holds it (a conditional update): a worker that lost its lease leaves the row to
the one that took it over.
"""

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hyperrep.outbox.models import OutboxItem

log = logging.getLogger("hyperrep.outbox")
OUTBOX_FIELDS = ["next_attempt_at", "attempts", "last_error", "claimed_until", "claimed_by"]


class Transient(Exception):
    """The attempt failed, and a later one may succeed (a refused connection, a timeout,
    SMTP 4xx, HTTP 429 or 5xx)."""


class Permanent(Exception):
    """The attempt failed, and so would every other (SMTP 5xx, HTTP 4xx, no address)."""


class Handler(Protocol):
    """How one kind of outbox row is carried out."""

    @property
    def model(self) -> type[OutboxItem]:
        """The model whose rows it carries out."""

    def retry_delays(self) -> Sequence[timedelta]:
        """The waits before the second, third, … attempt; after the last, it fails."""

    def attempt(self, item: Any) -> Any:
        """Do the work (the network call), outside any transaction. Returns what
        `succeeded` records; raises Transient or Permanent."""

    def succeeded(self, item: Any, result: Any) -> None:
        """Record success, inside the outcome's transaction, on the row it locked (saving
        the fields it changes; the outbox saves its own)."""

    def gave_up(self, item: Any, reason: str) -> None:
        """Record that it never will succeed, inside the outcome's transaction."""


@dataclass(frozen=True)
class Outcome:
    result: Any = None
    error: str | None = None
    permanent: bool = False

    @property
    def succeeded(self) -> bool:
        return self.error is None


def lease() -> timedelta:
    return timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)


def claim(model: type[OutboxItem], *, worker: str, now: datetime, limit: int) -> list[int]:
    """The primary keys of up to `limit` due rows, now this worker's until the lease ends."""
    rows = model.objects.unscoped()  # type: ignore[attr-defined]  # the worker serves every organization
    with transaction.atomic():
        due = (
            rows.filter(next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at", "id")
        )
        keys = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if keys:
            rows.filter(pk__in=keys).update(claimed_until=now + lease(), claimed_by=worker)
    return keys


def release(model: type[OutboxItem], keys: Sequence[int], *, worker: str) -> None:
    """Give back rows this worker claimed and did not get to (it is stopping)."""
    rows = model.objects.unscoped()  # type: ignore[attr-defined]
    rows.filter(pk__in=keys, claimed_by=worker).update(claimed_until=None, claimed_by=None)


def retry_delay(delays: Sequence[timedelta], attempts: int) -> timedelta:
    """The wait after the `attempts`-th attempt failed, with jitter (±20 %) so that rows that
    failed together do not all come back at once."""
    return delays[attempts - 1] * random.uniform(0.8, 1.2)  # noqa: S311  # jitter, not secrecy


def record(handler: Handler, key: int, *, worker: str, outcome: Outcome) -> bool:
    """Record one attempt's outcome; False when this worker no longer held the row."""
    delays = handler.retry_delays()
    with transaction.atomic():
        item = (
            handler.model.objects.unscoped()  # type: ignore[attr-defined]
            .select_for_update()
            .filter(pk=key, claimed_by=worker)
            .first()
        )
        if item is None:
            return False
        item.attempts += 1
        item.claimed_until = item.claimed_by = None
        if outcome.succeeded:
            handler.succeeded(item, outcome.result)
            item.next_attempt_at, item.last_error = None, None
        elif not outcome.permanent and item.attempts <= len(delays):
            item.next_attempt_at = timezone.now() + retry_delay(delays, item.attempts)
            item.last_error = outcome.error
        else:
            item.next_attempt_at, item.last_error = None, outcome.error
            handler.gave_up(item, outcome.error or "")
        item.save(update_fields=OUTBOX_FIELDS)  # the handler saved what it changed
    return True
