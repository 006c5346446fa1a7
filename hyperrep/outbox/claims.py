"""Claiming due rows under a lease, and recording what the attempts did.

A claim marks up to `limit` due rows as this worker's until `now + lease`, in one short
transaction: on PostgreSQL `SELECT … FOR UPDATE SKIP LOCKED`, so workers on many hosts each
take different rows and never wait on each other; on SQLite every writing transaction holds
the one write lock, so claims take turns. A row whose lease has passed is due again: its
worker died, and the row is retried rather than lost.

The outcomes of a batch are recorded in one transaction, on the rows locked again and only
those this worker still holds (a conditional update): a worker that lost its lease leaves
the row to the one that took it over.
"""

import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from hyperrep.bulk import update_each
from hyperrep.outbox.models import OutboxItem

log = logging.getLogger("hyperrep.outbox")
OUTBOX_FIELDS = ["next_attempt_at", "attempts", "last_error", "claimed_until", "claimed_by"]


class Transient(Exception):
    """The attempt failed, and a later one may succeed (a refused connection, a timeout,
    SMTP 4xx, HTTP 429 or 5xx)."""


class Permanent(Exception):
    """The attempt failed, and so would every other (SMTP 5xx, HTTP 4xx, no address)."""


class Batch(Protocol):
    """The rows of one claim, loaded with what their attempts read, and what those attempts
    share (a provider's connection) until the batch is closed (a context manager)."""

    @property
    def items(self) -> Sequence[Any]:
        """The claimed rows still there, in the order they are to be attempted."""

    def attempt(self, item: Any) -> Any:
        """Do the work (the network call), outside any transaction. Returns what the
        handler's `succeeded` records; raises Transient or Permanent."""

    def __enter__(self) -> "Batch": ...

    def __exit__(self, *exc: object) -> None: ...


class Handler(Protocol):
    """How one kind of outbox row is carried out."""

    @property
    def model(self) -> type[OutboxItem]:
        """The model whose rows it carries out."""

    @property
    def fields(self) -> Sequence[str]:
        """Columns of its own that `succeeded` and `gave_up` set on the rows they are given
        (a status), saved with the outbox's in the same statement."""

    def retry_delays(self) -> Sequence[timedelta]:
        """The waits before the second, third, … attempt; after the last, it fails."""

    def batch(self, keys: Sequence[int]) -> Batch:
        """The claimed rows of these keys, ready to be attempted."""

    def succeeded(self, done: Sequence[tuple[Any, Any]]) -> None:
        """Record the successes, (row, what its attempt returned), inside the outcomes'
        transaction, on the rows it locked: setting `fields` (the outbox saves them), or
        writing elsewhere itself."""

    def gave_up(self, failed: Sequence[tuple[Any, str]]) -> None:
        """Record, (row, the reason), that these never will succeed, in that transaction."""

    def count_attempt(self, item: Any, outcome: str) -> None:
        """Count one recorded attempt in the handler's metric (hyperrep/metrics.py), after the
        outcomes' transaction: `succeeded`, `retrying` (another attempt is scheduled) or
        `failed` (given up)."""


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


def _rows(model: type[OutboxItem]) -> Any:
    return model.objects.unscoped()  # type: ignore[attr-defined]  # the worker serves every organization


def claim(model: type[OutboxItem], *, worker: str, now: datetime, limit: int) -> list[int]:
    """The primary keys of up to `limit` due rows, now this worker's until the lease ends."""
    rows = _rows(model)
    due = (
        rows.filter(next_attempt_at__lte=now)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by("next_attempt_at", "id")
    )
    if not due.exists():  # an idle worker only reads: no write lock (SQLite has one) every poll
        return []
    with transaction.atomic():
        keys = list(due.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        if keys:
            rows.filter(pk__in=keys).update(claimed_until=now + lease(), claimed_by=worker)
    return keys


def release(model: type[OutboxItem], keys: Sequence[int], *, worker: str) -> None:
    """Give back rows this worker claimed and did not get to (it is stopping)."""
    if keys:
        _rows(model).filter(pk__in=keys, claimed_by=worker).update(
            claimed_until=None, claimed_by=None
        )


def retry_delay(delays: Sequence[timedelta], attempts: int) -> timedelta:
    """The wait after the `attempts`-th attempt failed, with jitter (±20 %) so that rows that
    failed together do not all come back at once."""
    return delays[attempts - 1] * random.uniform(0.8, 1.2)  # noqa: S311  # jitter, not secrecy


def record(handler: Handler, outcomes: Mapping[int, Outcome], *, worker: str) -> set[int]:
    """Record these attempts' outcomes (by primary key), in one transaction; the keys
    recorded, which leave out the rows this worker no longer held."""
    if not outcomes:
        return set()
    delays = handler.retry_delays()
    rows = _rows(handler.model)
    with transaction.atomic():
        # Locked in key order, as every worker locks them: two never wait on each other.
        items = list(
            rows.select_for_update().filter(pk__in=list(outcomes), claimed_by=worker).order_by("pk")
        )
        done: list[tuple[Any, Any]] = []
        failed: list[tuple[Any, str]] = []
        counted: list[tuple[Any, str]] = []
        for item in items:
            outcome = outcomes[item.pk]
            item.attempts += 1
            item.claimed_until = item.claimed_by = None
            if outcome.succeeded:
                item.next_attempt_at, item.last_error = None, None
                done.append((item, outcome.result))
                counted.append((item, "succeeded"))
            elif not outcome.permanent and item.attempts <= len(delays):
                item.next_attempt_at = timezone.now() + retry_delay(delays, item.attempts)
                item.last_error = outcome.error
                counted.append((item, "retrying"))
            else:
                item.next_attempt_at, item.last_error = None, outcome.error
                failed.append((item, outcome.error or ""))
                counted.append((item, "failed"))
        if done:
            handler.succeeded(done)
        if failed:
            handler.gave_up(failed)
        update_each(items, [*OUTBOX_FIELDS, *handler.fields])
    for item, counted_as in counted:  # (recorded: a rolled back batch counts nothing)
        handler.count_attempt(item, counted_as)
    return {item.pk for item in items}
