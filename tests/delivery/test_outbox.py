"""The outbox's promises: a due draft is claimed by one worker at a time, a dead worker's
claim expires and the draft is delivered by the next, and whatever the interleaving of
attempts, a draft becomes one message."""

import itertools
import os
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
from apps.delivery.handlers import DraftDelivery, backoff
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
    item = ResponseDraft.objects.unscoped().get(pk=draft.pk)
    assert claims.record(handler, draft.pk, worker="next", outcome=Outcome(handler.attempt(item)))
    draft.refresh_from_db()
    assert (draft.status, draft.attempts, draft.claimed_by) == (DraftStatus.SENT, 1, None)
    assert messages_of([draft]) == 1
    # The dead worker's late word, had it lived, changes nothing.
    assert not claims.record(
        handler, draft.pk, worker="dead", outcome=Outcome(handler.attempt(item))
    )
    assert messages_of([draft]) == 1


@pytest.mark.django_db
def test_a_late_success_after_a_retry_was_scheduled_records_nothing() -> None:
    [draft] = due_drafts(1)
    handler = DraftDelivery(ResponseDraft)
    now = timezone.now()
    claims.claim(ResponseDraft, worker="slow", now=now, limit=1)
    later = now + claims.lease() + timedelta(seconds=1)
    claims.claim(ResponseDraft, worker="fast", now=later, limit=1)
    assert claims.record(handler, draft.pk, worker="fast", outcome=Outcome(error="SMTP 451: busy"))
    item = ResponseDraft.objects.unscoped().get(pk=draft.pk)
    assert not claims.record(
        handler, draft.pk, worker="slow", outcome=Outcome(handler.attempt(item))
    )
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
    item = ResponseDraft.objects.unscoped().get(pk=draft.pk)
    result = handler.attempt(item)
    for worker in ("first", "second"):  # two attempts of one draft both succeed
        ResponseDraft.objects.unscoped().filter(pk=draft.pk).update(claimed_by=worker)
        assert claims.record(handler, draft.pk, worker=worker, outcome=Outcome(result))
    assert messages_of([draft]) == 1


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

    def succeeded(self: DraftDelivery, draft: Any, result: Any) -> None:
        delivered[threading.current_thread().name].append(draft.pk)
        original(self, draft, result)

    DraftDelivery.succeeded = succeeded  # type: ignore[method-assign,assignment]
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
        "SECRET_KEY": "worker-test",
    }
    manage = [sys.executable, "manage.py"]
    subprocess.run(  # noqa: S603
        [*manage, "migrate", "-v", "0"], cwd=ROOT, env=environment, check=True, timeout=120
    )
    worker = subprocess.Popen(  # noqa: S603
        [*manage, "worker"], cwd=ROOT, env=environment, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(2)  # started, and idling
        assert worker.poll() is None
        started = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=20) == 0
        assert time.monotonic() - started < 20
    finally:
        if worker.poll() is None:
            worker.kill()
    assert "stopping (signal 15)" in (worker.stderr.read() if worker.stderr else "")
