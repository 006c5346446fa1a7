"""Phone numbers compare in E.164 wherever the server looks one up (docs/resources.md: a number
is kept as given and matched in any format)."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from apps.contacts.models import Contact
from apps.organizations.models import ChannelKind, Organization
from hyperrep.phones import to_e164
from tests.factories import ChannelFactory, ContactFactory
from tests.helpers import Api, detail
from tests.transfer.helpers import ORG_ID, export_bytes, fixture_lines, import_file, write_lines

pytestmark = pytest.mark.django_db

SAME_NUMBER = [
    "+1 (555) 010-9999",
    "555-010-9999",
    "(555) 010 9999",
    "+15550109999",
    "1-555-010-9999",
]


@pytest.mark.parametrize("written", SAME_NUMBER)
def test_every_way_of_writing_a_number_is_one_e164(written: str) -> None:
    assert to_e164(written) == "+15550109999"


@pytest.mark.parametrize("written", ["call me", "12", "+1 555", "", None, "5" * 30])
def test_what_cannot_be_a_number_has_no_e164(written: str | None) -> None:
    assert to_e164(written) is None


def test_national_numbers_are_read_in_the_default_region(settings: Any) -> None:
    settings.DEFAULT_PHONE_REGION = "GB"
    assert to_e164("020 7946 0018") == "+442079460018"
    assert to_e164("+1 555 010 9999") == "+15550109999"  # an international number stays


def test_the_filter_finds_a_number_however_it_is_written(
    api: Api, org_path: str, organization: Organization
) -> None:
    contact = ContactFactory.create(organization=organization, phone_number="+1 (555) 010-9999")
    ContactFactory.create(organization=organization, phone_number="+1 555 010 0000")
    for written in SAME_NUMBER:
        found = api.get(f"{org_path}/contacts", {"phone_number": written}).json()["data"]
        assert [row["contact_id"] for row in found] == [contact.public_id], written
        assert found[0]["phone_number"] == "+1 (555) 010-9999"  # rendered as given
    response = api.get(f"{org_path}/contacts", {"phone_number": "call me"})
    assert response.status_code == 422
    assert detail(response) == "phone_number: Enter a valid phone number."


def test_a_body_number_is_kept_as_given_and_must_be_possible(api: Api, org_path: str) -> None:
    created = api.post(f"{org_path}/contacts", {"name": "Ann", "phone_number": "555-010-9999"})
    assert created.json()["phone_number"] == "555-010-9999"
    assert Contact.objects.unscoped().get().phone_e164 == "+15550109999"
    for bad in ("12", "call me", "+1 555"):
        response = api.post(f"{org_path}/contacts", {"name": "Bo", "phone_number": bad})
        assert response.status_code == 422
        assert detail(response) == "phone_number: Enter a valid phone number."


def test_a_text_draft_finds_the_contact_in_another_format(
    api: Api, org_path: str, organization: Organization
) -> None:
    ChannelFactory.create(organization=organization, kind=ChannelKind.TEXT)
    contact = ContactFactory.create(
        organization=organization, email=None, phone_number="+15550109999"
    )
    body = {"modality": "text", "body_html": "Hi", "to_phone_number": "(555) 010-9999"}
    assert api.post(f"{org_path}/message-drafts", body).status_code == 200
    assert list(Contact.objects.for_org(organization)) == [contact]


def test_an_import_keeps_the_given_number_and_still_matches(
    api: Any, tmp_path: Path, make_key: Any
) -> None:
    lines = fixture_lines()
    contact = next(line for line in lines if line["type"] == "contact")
    contact["phone_number"] = "(555) 010-9999"
    import_file(write_lines(tmp_path / "in.jsonl", lines))
    organization = Organization.objects.get(public_id=ORG_ID)
    found = Api(make_key(organization)).get(
        f"/organizations/{ORG_ID}/contacts", {"phone_number": "+15550109999"}
    )
    assert [row["contact_id"] for row in found.json()["data"]] == [contact["contact_id"]]
    assert b'"phone_number":"(555) 010-9999"' in export_bytes(tmp_path)


def test_the_admin_refuses_a_number_the_api_refuses(admin_client: Client) -> None:
    contact = ContactFactory.create(phone_number="+15550109999")
    response = admin_client.post(
        f"/admin/contacts/contact/{contact.pk}/change/",
        {"name": contact.name, "phone_number": "call me", "custom_fields": "{}"},
    )
    assert response.status_code == 200
    assert "Enter a valid phone number." in response.content.decode()
    contact.refresh_from_db()
    assert contact.phone_number == "+15550109999"
