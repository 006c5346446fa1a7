"""Finding or creating a contact: concurrent drafts to one new address make one contact."""

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.contacts.models import Contact
from apps.contacts.services import contact_find_or_create
from apps.drafts.services import message_draft_create
from apps.organizations.models import ChannelKind, Organization
from tests.factories import ChannelFactory, ContactFactory, OrganizationFactory

WORKERS = 20


def at_once(work: Callable[[int], Any]) -> list[BaseException]:
    """Run `work(i)` in WORKERS threads released together; the errors they raised."""
    start = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout=30)
            work(i)
        except BaseException as error:  # reported by the test
            errors.append(error)
        finally:
            connection.close()  # each thread has its own connection

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's writers take turns already; its in-memory test database is one "
    "connection's, so threads cannot race on it",
)
@pytest.mark.parametrize(
    ("modality", "address"),
    [
        ("email", {"to_email": "New.Lead@example.com"}),
        ("text", {"to_phone_number": "(555) 010-4242"}),
    ],
)
def test_concurrent_drafts_to_one_new_address_make_one_contact(
    modality: str, address: dict[str, str]
) -> None:
    organization = OrganizationFactory.create()
    ChannelFactory.create(organization=organization, kind=ChannelKind(modality))

    def draft(i: int) -> None:
        written: dict[str, Any] = {
            name: value.upper() if i % 2 and name == "to_email" else value
            for name, value in address.items()
        }
        message_draft_create(
            organization=organization, modality=modality, body_html="Hi", **written
        )

    assert at_once(draft) == []
    assert Contact.objects.for_org(organization).count() == 1


@pytest.mark.django_db
def test_find_or_create_finds_the_oldest_match_by_email_then_number(
    organization: Organization,
) -> None:
    older = ContactFactory.create(organization=organization, email="ann@example.com")
    ContactFactory.create(organization=organization, email="ANN@example.com")
    assert contact_find_or_create(organization=organization, email="Ann@Example.com") == older
    by_number = ContactFactory.create(
        organization=organization, email=None, phone_number="+15550101234"
    )
    assert (
        contact_find_or_create(organization=organization, phone_number="555-010-1234") == by_number
    )
    made = contact_find_or_create(organization=organization, phone_number="555-010-7777", name="Cy")
    assert (made.name, made.phone_e164) == ("Cy", "+15550107777")
    other = OrganizationFactory.create()
    assert contact_find_or_create(organization=other, email="ann@example.com") != older


@pytest.mark.django_db
def test_an_address_that_matches_no_one_falls_back_to_the_number(
    organization: Organization,
) -> None:
    texter = ContactFactory.create(
        organization=organization, email=None, phone_number="555-777-1234"
    )
    found = contact_find_or_create(
        organization=organization, email="new@example.com", phone_number="+1 555 777 1234"
    )
    assert found == texter
    assert Contact.objects.for_org(organization).count() == 1
