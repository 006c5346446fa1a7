"""The outbox's promises: a due draft is claimed by one worker at a time, a dead worker's
claim expires and the draft is delivered by the next, and whatever the interleaving of
attempts, a draft becomes one message."""

import itertools
import os
import select
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.conversations.models import Message
from apps.delivery.handlers import DraftBatch, DraftDelivery, backoff
from apps.drafts.models import DraftStatus, ResponseDraft
from hyperrep.outbox import claims
from hyperrep.outbox.claims import Outcome
from hyperrep.outbox.worker import Worker
from tests.factories import (
    ChannelFactory,
    ConversationFactory,
    OrganizationFactory,
    ResponseDraftFactory,
)

ROOT = Path(__file__).resolve().parent.parent.parent


def due_drafts(count: int, organization: Any = None) -> list[ResponseDraft]:
    organization = organization or OrganizationFactory.create()
    ChannelFactory.create(organization=organization)  # console://
    now = timezone.now()
    return [
        ResponseDraftFactory.create(
            conversation=ConversationFactory.create(organization=organization),
            status=DraftStatus.SCHEDULED,
            scheduled_to_send=True,
            scheduled_send_at=now,
            next_attempt_at=now,
        )
        for _ in range(count)
    ]


def messages_of(drafts: list[ResponseDraft]) -> int:
    return (
        Message.objects.unscoped()
        .filter(public_id__in=[d.message_public_id for d in drafts])
        .count()
    )


def attempt(handler: DraftDelivery, draft: ResponseDraft) -> Any:
    """What an attempt of the draft returns (its delivery), made as a batch makes it."""
    with handler.batch([draft.pk]) as batch:
        [item] = batch.items
        return batch.attempt(item)


@pytest.mark.django_db
def test_a_dead_workers_claim_expires_and_the_next_worker_delivers_once() -> None:
    [draft] = due_drafts(1)
    handler = DraftDelivery(ResponseDraft)
    now = timezone.now()
    assert claims.claim(ResponseDraft, worker="dead", now=now, limit=10) == [draft.pk]
    # The worker is gone: its claim stays until the lease runs out.
    assert claims.claim(ResponseDraft, worker="next", now=now, limit=10) == []
    later = now + claims.lease() + timedelta(seconds=1)
    assert claims.claim(ResponseDraft, worker="next", now=later, limit=10) == [draft.pk]
    done = {draft.pk: Outcome(attempt(handler, draft))}
    assert claims.record(handler, done, worker="next") == {draft.pk}
    draft.refresh_from_db()
    assert (draft.status, draft.attempts, draft.claimed_by) == (DraftStatus.SENT, 1, None)
    assert messages_of([draft]) == 1
    # The dead worker's late word, had it lived, changes nothing.
    assert claims.record(handler, done, worker="dead") == set()
    assert messages_of([draft]) == 1


@pytest.mark.django_db
def test_a_late_success_after_a_retry_was_scheduled_records_nothing() -> None:
    [draft] = due_drafts(1)
    handler = DraftDelivery(ResponseDraft)
    now = timezone.now()
    claims.claim(ResponseDraft, worker="slow", now=now, limit=1)
    later = now + claims.lease() + timedelta(seconds=1)
    claims.claim(ResponseDraft, worker="fast", now=later, limit=1)
    busy = {draft.pk: Outcome(error="SMTP 451: busy")}
    assert claims.record(handler, busy, worker="fast") == {draft.pk}
    late = {draft.pk: Outcome(attempt(handler, draft))}
    assert claims.record(handler, late, worker="slow") == set()
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SCHEDULED, 1)  # the retry stands
    ResponseDraft.objects.unscoped().filter(pk=draft.pk).update(next_attempt_at=timezone.now())
    Worker().run(until_idle=True)
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SENT, 2)
    assert messages_of([draft]) == 1


@pytest.mark.django_db
def test_a_draft_delivered_meanwhile_is_not_delivered_again() -> None:
    [draft] = due_drafts(1)
    handler = DraftDelivery(ResponseDraft)
    done = {draft.pk: Outcome(attempt(handler, draft))}
    for worker in ("first", "second"):  # two attempts of one draft both succeed
        ResponseDraft.objects.unscoped().filter(pk=draft.pk).update(claimed_by=worker)
        assert claims.record(handler, done, worker=worker) == {draft.pk}
    assert messages_of([draft]) == 1


@pytest.mark.django_db
def test_a_batch_records_each_outcome_and_the_rows_it_no_longer_holds_are_left() -> None:
    sent, retried, failed, lost = due_drafts(4)
    handler = DraftDelivery(ResponseDraft)
    keys = claims.claim(ResponseDraft, worker="w", now=timezone.now(), limit=10)
    assert sorted(keys) == sorted(d.pk for d in (sent, retried, failed, lost))
    ResponseDraft.objects.unscoped().filter(pk=lost.pk).update(claimed_by="another")
    outcomes = {
        sent.pk: Outcome(attempt(handler, sent)),
        retried.pk: Outcome(error="SMTP 451: busy"),
        failed.pk: Outcome(error="SMTP 550: no such user", permanent=True),
        lost.pk: Outcome(attempt(handler, lost)),
    }
    assert claims.record(handler, outcomes, worker="w") == {sent.pk, retried.pk, failed.pk}
    for draft in (sent, retried, failed, lost):
        draft.refresh_from_db()
    assert (sent.status, sent.attempts, sent.last_error) == (DraftStatus.SENT, 1, None)
    assert (retried.status, retried.attempts, retried.last_error) == (
        DraftStatus.SCHEDULED,
        1,
        "SMTP 451: busy",
    )
    assert retried.next_attempt_at is not None
    assert retried.next_attempt_at > timezone.now()
    assert (failed.status, failed.failure_reason) == (DraftStatus.FAILED, "SMTP 550: no such user")
    assert (lost.status, lost.attempts, lost.claimed_by) == (DraftStatus.SCHEDULED, 0, "another")
    assert {d.claimed_by for d in (sent, retried, failed)} == {None}
    assert messages_of([sent, retried, failed, lost]) == 1


@pytest.mark.django_db
def test_a_batch_starts_no_attempt_after_half_its_lease(settings: Any) -> None:
    """Another worker may take the rest over once the lease ends: they are given back, not
    attempted late."""
    settings.OUTBOX_LEASE_SECONDS = 2
    drafts = due_drafts(3)
    handler = DraftDelivery(ResponseDraft)
    worker = Worker([handler])
    keys = claims.claim(ResponseDraft, worker=worker.name, now=timezone.now(), limit=10)
    original = DraftBatch.attempt

    def slow(self: DraftBatch, draft: Any) -> Any:
        time.sleep(1.1)
        return original(self, draft)

    DraftBatch.attempt = slow  # type: ignore[method-assign]
    try:
        assert worker.carry_out(handler, keys) == 1
    finally:
        DraftBatch.attempt = original  # type: ignore[method-assign]
    for draft in drafts:
        draft.refresh_from_db()
    sent, *given_back = drafts
    assert sent.status == DraftStatus.SENT
    assert [d.status for d in given_back] == [DraftStatus.SCHEDULED] * 2
    assert [d.claimed_by for d in drafts] == [None, None, None]  # claimable again at once
    assert [d.attempts for d in drafts] == [1, 0, 0]


def test_the_backoff_doubles_and_spans_about_six_hours() -> None:
    waits = backoff(8)
    assert len(waits) == 7
    assert all(later == 2 * earlier for earlier, later in itertools.pairwise(waits))
    assert timedelta(hours=5, minutes=55) < sum(waits, timedelta()) < timedelta(hours=6, minutes=5)
    assert claims.retry_delay(waits, 1) <= waits[0] * 1.2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="many workers on many hosts is PostgreSQL's (SKIP LOCKED); on SQLite one worker "
    "runs beside the server, and its in-memory test database is one connection's",
)
def test_two_workers_deliver_each_of_100_drafts_exactly_once() -> None:
    def run(worker: Worker) -> None:
        try:
            worker.run(until_idle=True)
        finally:
            connection.close()  # the thread's own

    drafts = due_drafts(100)
    workers = [Worker(batch=7), Worker(batch=7)]
    delivered: dict[str, list[int]] = {w.name: [] for w in workers}
    original = DraftDelivery.succeeded

    def succeeded(self: DraftDelivery, done: Any) -> None:
        delivered[threading.current_thread().name].extend(draft.pk for draft, _ in done)
        original(self, done)

    DraftDelivery.succeeded = succeeded  # type: ignore[method-assign]
    try:
        threads = [threading.Thread(target=run, args=(w,), name=w.name) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    finally:
        DraftDelivery.succeeded = original  # type: ignore[method-assign]
    assert messages_of(drafts) == 100
    assert (
        ResponseDraft.objects.unscoped().filter(status=DraftStatus.SENT, attempts=1).count() == 100
    )
    shares = [len(pks) for pks in delivered.values()]
    assert sum(shares) == 100
    assert all(shares), shares  # both took part


def test_the_worker_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    environment = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path}/worker.sqlite3",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(  # noqa: S603
        [*manage, "migrate", "-v", "0"], cwd=ROOT, env=environment, check=True, timeout=120
    )
    worker = subprocess.Popen(  # noqa: S603
        [*manage, "worker"], cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True
    )
    logged: list[str] = []
    try:
        # Its handlers are installed before it logs that it started (on a busy machine,
        # Django's start can take seconds): only then is SIGTERM its to handle.
        assert worker.stderr is not None
        deadline = time.monotonic() + 60
        while not any(" started" in line for line in logged):
            assert time.monotonic() < deadline, logged
            ready, _, _ = select.select([worker.stderr], [], [], 1)
            if ready:
                logged.append(worker.stderr.readline())
        assert worker.poll() is None
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        assert time.monotonic() - started < 20
    finally:
        if worker.poll() is None:
            worker.kill()
    assert "stopping (signal 15)" in "".join(logged) + (
        worker.stderr.read() if worker.stderr else ""
    )


@pytest.mark.django_db
def test_a_transport_sealed_with_another_key_is_retried_with_the_reason(settings: Any) -> None:
    [draft] = due_drafts(1)
    settings.CHANNEL_SECRET_KEY = "not the key the channel was configured with"
    Worker().run(until_idle=True)
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SCHEDULED, 1)
    assert draft.last_error is not None
    assert draft.last_error.startswith("the channel's transport cannot be decrypted")
