"""import_data on good files: what the API then shows, round trips, re-imports."""

import copy
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Message, TrackedLink
from apps.drafts.models import MessageDraft, ResponseDraft
from apps.keys.models import ApiKey
from apps.organizations.models import Channel, Organization
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatus, SaleStatusChange
from apps.transfer import importer
from tests.factories import (
    AgentFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    OrganizationFactory,
    SaleFactory,
    TrackedLinkFactory,
)
from tests.helpers import Api, detail
from tests.transfer.helpers import (
    FIXTURE,
    ORG_ID,
    export_bytes,
    fixture_lines,
    import_file,
    write_lines,
)

pytestmark = pytest.mark.django_db

TABLES: tuple[Any, ...] = (
    Organization,
    Agent,
    Company,
    Contact,
    Conversation,
    Message,
    TrackedLink,
    Sale,
    SaleContact,
    SaleConversation,
    SaleStatusChange,
)


def row_counts() -> dict[str, int]:
    return {model.__name__: model._base_manager.count() for model in TABLES}


def api_shape(line: dict[str, Any]) -> dict[str, Any]:
    """The line as the API renders the row: without the import's own keys."""
    own = (
        ("type", "is_draft")
        if line["type"] == "organization"
        else ("type", "organization_id", "is_draft")
    )
    return {k: v for k, v in line.items() if k not in own}


def of_type(kind: str) -> list[dict[str, Any]]:
    return [line for line in fixture_lines() if line["type"] == kind]


@pytest.fixture
def imported(make_key: Callable[..., str]) -> Api:
    """The fixture imported, and an API client for its organization."""
    import_file(FIXTURE)
    return Api(make_key(Organization.objects.get(public_id=ORG_ID)))


def get(api: Api, path: str) -> Any:
    response = api.get(f"/organizations/{ORG_ID}{path}")
    assert response.status_code == 200, (path, response.content)
    return response.json()


def listed(api: Api, path: str) -> list[dict[str, Any]]:
    return get(api, f"{path}?limit=500")["data"]


# -- the fixture covers what it claims ------------------------------------------------------


def test_fixture_covers_every_type_and_variant() -> None:
    lines = fixture_lines()
    assert [line["type"] for line in lines][:1] == ["organization"]
    assert {line["type"] for line in lines} == {
        "organization",
        "agent",
        "company",
        "contact",
        "conversation",
        "message",
        "sale",
    }
    messages = of_type("message")
    assert {m["modality"] for m in messages} == {"email", "text", "call", "live_chat", "form"}
    assert {m["message_direction"] for m in messages} == {"sent", "received"}
    assert any(m["tracked_links"] for m in messages)
    assert any(m["form_request_body"] for m in messages)
    assert any(m["call_metadata"]["duration"] for m in messages)
    statuses = {s["status"] for sale in of_type("sale") for s in sale["status_history"]}
    assert statuses == {None, *SaleStatus.values}
    assert any(sale.get("is_draft") for sale in of_type("sale"))
    # Imported ids that are not in the minted format, including every allowed punctuation.
    all_ids = {v for line in lines for k, v in line.items() if k.endswith("_id") and v}
    assert {"lead-42", "abc.DEF=1", "thread_9", "acct.0042", "rep-007"} <= all_ids


# -- what the API shows after an import -----------------------------------------------------


def test_organization_as_the_api_shows_it(imported: Api) -> None:
    (line,) = of_type("organization")
    assert get(imported, "") == api_shape(line)


@pytest.mark.parametrize(
    ("kind", "path", "key"),
    [
        ("agent", "/agents", "agent_id"),
        ("company", "/companies", "company_id"),
        ("contact", "/contacts", "contact_id"),
        ("conversation", "/conversations", "conversation_id"),
    ],
)
def test_every_field_of_every_row(imported: Api, kind: str, path: str, key: str) -> None:
    expected = {line[key]: api_shape(line) for line in of_type(kind)}
    for public_id, shape in expected.items():
        assert get(imported, f"{path}/{public_id}") == shape
    assert {row[key]: row for row in listed(imported, path)} == expected


def test_every_field_of_every_message(imported: Api) -> None:
    messages = of_type("message")
    for line in messages:
        path = f"/conversations/{line['conversation_id']}/messages/{line['message_id']}"
        assert get(imported, path) == api_shape(line)
    for conversation in of_type("conversation"):
        cid = conversation["conversation_id"]
        mine = [api_shape(m) for m in messages if m["conversation_id"] == cid]
        # The list is chronological, whatever the order of the file.
        mine.sort(key=lambda m: m["sent_at"])
        assert listed(imported, f"/conversations/{cid}/messages") == mine


def test_every_field_of_every_sale_and_drafts_stay_hidden(imported: Api) -> None:
    sales = of_type("sale")
    shown = [api_shape(line) for line in sales if not line.get("is_draft")]
    for shape in shown:
        assert get(imported, f"/sales/{shape['sale_id']}") == shape
    assert sorted(listed(imported, "/sales"), key=lambda s: s["sale_id"]) == sorted(
        shown, key=lambda s: s["sale_id"]
    )
    (draft,) = [line for line in sales if line.get("is_draft")]
    response = imported.get(f"/organizations/{ORG_ID}/sales/{draft['sale_id']}")
    assert response.status_code == 404
    assert detail(response) == "Sale not found"
    assert Sale.objects.unscoped().get(public_id=draft["sale_id"]).is_draft


def test_derived_fields_are_computed_when_omitted(tmp_path: Path, make_key: Any) -> None:
    lines = fixture_lines()
    for line in lines:
        for derived in ("last_activity_at", "is_form_request", "current_status"):
            if line["type"] != "sale" or derived != "last_activity_at":
                line.pop(derived, None)
    import_file(write_lines(tmp_path / "lean.jsonl", lines))
    # Everything the API shows is what the full fixture says.
    assert export_bytes(tmp_path) == FIXTURE.read_bytes()


def test_sale_last_activity_defaults_to_its_latest_change(tmp_path: Path) -> None:
    lines = fixture_lines()
    sale = next(line for line in lines if line.get("sale_id") == "deal-2")
    del sale["last_activity_at"]  # the file says 2025-03-09T17:00:00Z, later than any change
    import_file(write_lines(tmp_path / "f.jsonl", lines))
    stored = Sale.objects.unscoped().get(public_id="deal-2").last_activity_at
    assert stored.isoformat() == "2025-03-08T09:00:00+00:00"


def test_money_is_normalised_to_two_place_strings(tmp_path: Path) -> None:
    lines = fixture_lines()
    sale = next(line for line in lines if line.get("sale_id") == "deal-3")
    sale["quote_details"]["output"]["total_price"] = 100
    sale["quote_details"]["arguments"]["products"][0]["unit_price"] = 19.9
    import_file(write_lines(tmp_path / "f.jsonl", lines))
    quote = Sale.objects.unscoped().get(public_id="deal-3").quote_details
    assert quote["output"]["total_price"] == "100.00"
    assert quote["arguments"]["products"][0]["unit_price"] == "19.90"


def test_company_domain_is_normalised_like_the_api(tmp_path: Path) -> None:
    lines = fixture_lines()
    next(line for line in lines if line["type"] == "company")["domain"] = (
        "https://WWW.Northwind.example.com/about"
    )
    import_file(write_lines(tmp_path / "f.jsonl", lines))
    assert (
        Company.objects.unscoped().get(name="Northwind Homes").domain == "www.northwind.example.com"
    )


# -- round trips ----------------------------------------------------------------------------


def test_import_then_export_is_the_fixture_byte_for_byte(tmp_path: Path) -> None:
    import_file(FIXTURE)
    assert export_bytes(tmp_path) == FIXTURE.read_bytes()


@pytest.mark.parametrize("batch_size", [1, 2, 3])
def test_small_batches_give_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, batch_size: int
) -> None:
    monkeypatch.setattr(importer, "BATCH_SIZE", batch_size)
    import_file(FIXTURE)
    assert export_bytes(tmp_path) == FIXTURE.read_bytes()


def test_lines_may_reference_rows_still_waiting_in_a_batch(tmp_path: Path) -> None:
    """Any order where references point backwards works, not only export order."""
    lines = fixture_lines()
    by_id = {line.get(f"{line['type']}_id"): line for line in lines}
    interleaved = [
        lines[0],
        by_id["agt_4fK9mQ2xR7tV1wY3zB5nD8"],
        by_id["cmp_9pL3kJ7hG5fD2sA8qW4eR6"],
        by_id["ctc_2mN8bV4cX6zL1kJ9hG3fD5"],
        by_id["cnv_6tY1uI3oP5aS7dF9gH2jK4"],
        by_id["msg_8qW2eR4tY6uI1oP3aS5dF7"],
    ]
    rest = [line for line in lines if line not in interleaved]
    import_file(write_lines(tmp_path / "f.jsonl", interleaved + rest))
    assert Message.objects.unscoped().get(public_id="m-4").conversation.public_id == "thread_9"
    assert row_counts()["Message"] == 6


def test_export_then_import_into_an_empty_database_is_identical(tmp_path: Path) -> None:
    organization = OrganizationFactory.create(name="Zenith Plumbing")
    agent = AgentFactory.create(organization=organization)
    company = CompanyFactory.create(organization=organization, agent=agent)
    contact = ContactFactory.create(organization=organization, company=company)
    conversation = ConversationFactory.create(organization=organization, contact=contact)
    message = MessageFactory.create(conversation=conversation, form_request_body=None)
    TrackedLinkFactory.create(message=message, click_count=7)
    MessageFactory.create(
        conversation=conversation, modality="call", call_duration=61, call_transcript="Hi"
    )
    sale = SaleFactory.create(organization=organization, company=company, owner=agent)
    SaleContact.objects.create(organization=organization, sale=sale, contact=contact)
    SaleFactory.create(organization=organization, is_draft=True)
    first = export_bytes(tmp_path, organization.public_id)

    for model in reversed(TABLES):  # an empty database, children first
        model._base_manager.all().delete()
    import_file(write_lines(tmp_path / "first.jsonl", first.decode().splitlines()))
    assert export_bytes(tmp_path, organization.public_id) == first
    assert b'"is_draft":true' in first


def test_the_demo_organization_round_trips_through_an_empty_database(tmp_path: Path) -> None:
    """What a self-hoster does to move: every modality, sale status and draft sale of
    seed_demo, exported, imported into an empty database, exported again."""
    call_command("seed_demo", "--messages", "400", stdout=io.StringIO())
    organization = Organization.objects.get()
    first = export_bytes(tmp_path, organization.public_id)

    for model in (ResponseDraft, MessageDraft, Channel, ApiKey, *reversed(TABLES)):
        model._base_manager.all().delete()
    import_file(write_lines(tmp_path / "demo.jsonl", first.decode().splitlines()))
    assert export_bytes(tmp_path, organization.public_id) == first
    assert Message.objects.unscoped().count() == 400


# -- re-imports -----------------------------------------------------------------------------


def test_reimport_changes_nothing(tmp_path: Path) -> None:
    import_file(FIXTURE)
    counts, exported = row_counts(), export_bytes(tmp_path)
    pks = dict(Message.objects.unscoped().values_list("public_id", "pk"))
    import_file(FIXTURE)
    assert row_counts() == counts
    assert export_bytes(tmp_path) == exported
    assert dict(Message.objects.unscoped().values_list("public_id", "pk")) == pks


def test_reimport_makes_rows_and_children_exactly_what_the_lines_say(tmp_path: Path) -> None:
    import_file(FIXTURE)
    lines = fixture_lines()
    changed = copy.deepcopy(lines)
    by_id = {line.get(f"{line['type']}_id"): line for line in changed}
    by_id["lead-42"]["name"] = "Lead Forty-Two"
    by_id["m-2"]["tracked_links"] = by_id["m-2"]["tracked_links"][1:]
    by_id["m-2"]["tracked_links"][0]["click_count"] = 9
    sale = by_id["sal_3aS5dF7gH9jK1lZ3xC5vB7"]
    sale["associated_contacts"] = [{"contact_id": "abc.DEF=1", "is_primary": True}]
    sale["associated_conversation_ids"] = ["thread_9", "cnv_6tY1uI3oP5aS7dF9gH2jK4"]
    sale["status_history"] = sale["status_history"][:1]
    sale["current_status"] = sale["status_history"][0]
    by_id["deal-5-draft"].pop("is_draft")
    changed_file = write_lines(tmp_path / "changed.jsonl", changed)

    import_file(changed_file)
    assert Contact.objects.unscoped().get(public_id="lead-42").name == "Lead Forty-Two"
    assert list(
        TrackedLink.objects.unscoped()
        .filter(message__public_id="m-2")
        .values_list("public_id", "click_count")
    ) == [("promo.link-2", 9)]
    assert SaleStatusChange.objects.unscoped().filter(sale__public_id=sale["sale_id"]).count() == 1
    assert not Sale.objects.unscoped().get(public_id="deal-5-draft").is_draft
    # Rows keep their place (internal ids), so the export is the changed file itself.
    assert export_bytes(tmp_path) == changed_file.read_bytes()


def test_a_message_moved_to_another_conversation_recomputes_both(tmp_path: Path) -> None:
    import_file(FIXTURE)
    lines = fixture_lines()
    # Only the moved message: its old conversation is not in this file at all.
    (moved,) = [line for line in lines if line.get("message_id") == "m-2"]
    moved["conversation_id"] = "conv-empty"
    import_file(write_lines(tmp_path / "move.jsonl", [lines[0], moved]))
    old = Conversation.objects.unscoped().get(public_id="cnv_6tY1uI3oP5aS7dF9gH2jK4")
    new = Conversation.objects.unscoped().get(public_id="conv-empty")
    assert old.last_activity_at.isoformat() == "2025-03-01T09:12:00+00:00"  # m-3 is its latest
    assert new.last_activity_at.isoformat() == "2025-03-01T15:45:10+00:00"  # m-2's sent_at


def test_a_repeated_id_in_one_file_keeps_the_last_line(tmp_path: Path) -> None:
    lines = fixture_lines()
    contact = copy.deepcopy(next(line for line in lines if line.get("contact_id") == "lead-42"))
    contact["name"] = "Second line wins"
    write_lines(tmp_path / "f.jsonl", [*lines, contact])
    import_file(tmp_path / "f.jsonl")
    assert Contact.objects.unscoped().get(public_id="lead-42").name == "Second line wins"
    assert Contact.objects.unscoped().count() == 3


def test_import_into_an_organization_that_exists(tmp_path: Path) -> None:
    existing = OrganizationFactory.create(public_id=ORG_ID, name="Old name")
    other = ContactFactory.create(organization=existing, public_id="kept-contact")
    import_file(FIXTURE)
    existing.refresh_from_db()
    assert existing.name == "Acme Roofing & Gutters — Zürich"
    assert (
        Contact.objects.unscoped().filter(pk=other.pk).exists()
    )  # rows the file does not name stay
