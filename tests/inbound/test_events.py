"""The event store: what is kept, retried, pruned; and concurrent arrivals on PostgreSQL."""

import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db import connection, connections
from django.test import Client
from django.utils import timezone

from apps.contacts.models import Contact
from apps.conversations.models import Message
from apps.inbound.handlers import prune
from apps.inbound.models import EventStatus, InboundEvent
from apps.inbound.text import signature
from apps.organizations.models import Channel
from hyperrep.outbox.worker import Worker
from tests.inbound.conftest import AUTH_TOKEN, only_event, process
from tests.inbound.test_email import PLAIN, post

PARALLEL = 50


def test_events_are_pruned_after_the_retention_but_not_before_processing(
    db: None, client: Client, channels: dict[str, Channel], settings: Any
) -> None:
    settings.INBOUND_RETENTION_DAYS = 30
    post(client, channels["email"], PLAIN)
    post(client, channels["email"], PLAIN.replace(b"<first@", b"<second@"))
    process()
    post(client, channels["email"], PLAIN.replace(b"<first@", b"<third@"))  # not processed
    old = timezone.now() - timedelta(days=31)
    InboundEvent.objects.unscoped().update(received_at=old)
    InboundEvent.objects.unscoped().filter(provider_message_id="<second@mail.example.com>").update(
        received_at=timezone.now() - timedelta(days=29)
    )
    prune()
    left = set(InboundEvent.objects.unscoped().values_list("provider_message_id", flat=True))
    assert left == {"<second@mail.example.com>", "<third@mail.example.com>"}
    assert Message.objects.unscoped().count() == 2  # messages stay


def test_a_failed_event_can_be_processed_again_from_the_admin(
    db: None, client: Client, channels: dict[str, Channel]
) -> None:
    post(client, channels["email"], PLAIN)
    InboundEvent.objects.unscoped().update(
        status=EventStatus.FAILED, next_attempt_at=None, attempts=8, last_error="internal error"
    )
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    event = only_event()
    response = admin.post(
        "/admin/inbound/inboundevent/",
        {"action": "process_again", "_selected_action": [event.pk]},
    )
    assert response.status_code == 302
    process()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    assert event.message is not None
    page = admin.get(f"/admin/inbound/inboundevent/{event.pk}/change/")
    assert page.status_code == 200
    assert b"Hello, how much for a new roof?" in page.content


def in_parallel(count: int, work: Callable[[int], None]) -> None:
    start = threading.Barrier(count)

    def run(number: int) -> None:
        try:
            start.wait()
            work(number)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


def needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's in-memory test database has no second writer")


def workers(count: int) -> None:
    """`count` workers at once over every due event, as on several hosts."""
    in_parallel(count, lambda _: Worker(batch=5, idle_seconds=0).run(until_idle=True))


@pytest.mark.django_db(transaction=True)
def test_fifty_posts_of_one_message_sid_make_one_message(
    client: Client, channels: dict[str, Channel]
) -> None:
    needs_postgresql()
    route = f"/inbound/text/{channels['text'].inbound_token}"
    fields = {"MessageSid": "SM" + "2" * 32, "From": "+15135550111", "Body": "hi"}
    signed = signature(AUTH_TOKEN, f"http://testserver{route}", fields.items())
    statuses: list[int] = []
    in_parallel(
        PARALLEL,
        lambda _: statuses.append(
            Client()
            .post(
                route,
                urlencode(fields),
                content_type="application/x-www-form-urlencoded",
                HTTP_X_TWILIO_SIGNATURE=signed,
            )
            .status_code
        ),
    )
    assert statuses == [200] * PARALLEL
    workers(4)
    assert InboundEvent.objects.unscoped().count() == 1
    assert Message.objects.unscoped().count() == 1


@pytest.mark.django_db(transaction=True)
def test_fifty_emails_from_one_new_address_make_one_contact(channels: dict[str, Channel]) -> None:
    needs_postgresql()
    statuses: list[int] = []
    in_parallel(
        PARALLEL,
        lambda n: statuses.append(
            post(
                Client(), channels["email"], PLAIN.replace(b"<first@", f"<n{n}@".encode())
            ).status_code
        ),
    )
    assert statuses == [202] * PARALLEL
    workers(4)
    assert InboundEvent.objects.unscoped().filter(status=EventStatus.PROCESSED).count() == PARALLEL
    assert Contact.objects.unscoped().filter(email__iexact="ann@example.com").count() == 1
    assert Message.objects.unscoped().count() == PARALLEL
