import html
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatus, SaleStatusChange
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    OrganizationFactory,
    SaleFactory,
    TrackedLinkFactory,
)
from tests.transfer.helpers import ORG_ID, export_bytes, import_file, write_lines

pytestmark = pytest.mark.django_db


def page(client: Client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.content.decode()


def test_conversation_pages_render(admin_client: Client) -> None:
    message = MessageFactory.create(subject="Leaking gutter", content="Water everywhere " * 20)
    conversation = message.conversation
    listing = page(admin_client, "/admin/conversations/conversation/")
    assert conversation.public_id in listing
    detail = page(admin_client, f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert message.public_id in detail
    assert "Leaking gutter" in detail
    assert "Water everywhere Water everywhere" in detail
    assert ("Water everywhere " * 20).strip() not in detail  # a preview, not the whole text
    filtered = page(
        admin_client,
        f"/admin/conversations/conversation/?folder=inbox&is_read__exact=0"
        f"&organization__id__exact={conversation.organization_id}&q={conversation.public_id}",
    )
    assert conversation.public_id in filtered
    # Ids are case-sensitive: another case is another id.
    swapped = page(
        admin_client, f"/admin/conversations/conversation/?q={conversation.public_id.swapcase()}"
    )
    assert conversation.public_id not in swapped


def test_message_pages_render_view_only(admin_client: Client) -> None:
    link = TrackedLinkFactory.create(
        message__direction=Direction.SENT, message__modality=Modality.EMAIL
    )
    message = link.message
    assert message.public_id in page(admin_client, "/admin/conversations/message/")
    detail = page(admin_client, f"/admin/conversations/message/{message.pk}/change/")
    assert link.url in detail
    assert 'name="_save"' not in detail
    assert admin_client.get("/admin/conversations/message/add/").status_code == 403
    response = admin_client.post(
        f"/admin/conversations/message/{message.pk}/change/", {"subject": "Changed"}
    )
    assert response.status_code == 403
    response = admin_client.post(
        f"/admin/conversations/message/{message.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 403
    message.refresh_from_db()
    assert message.subject == "Quote request"


def conversation_form(conversation: Conversation, **changes: Any) -> dict[str, Any]:
    start = timezone.localtime(conversation.start_at)
    data = {
        "contact": conversation.contact_id,
        "agent": conversation.agent_id or "",
        "folder": conversation.folder,
        "start_at_0": start.strftime("%Y-%m-%d"),
        "start_at_1": start.strftime("%H:%M:%S"),
        "messages-TOTAL_FORMS": "0",
        "messages-INITIAL_FORMS": "0",
        "messages-MIN_NUM_FORMS": "0",
        "messages-MAX_NUM_FORMS": "1000",
    }
    return {**data, **changes}


def test_the_message_inline_is_read_only(admin_client: Client) -> None:
    message = MessageFactory.create(subject="Original subject")
    conversation = message.conversation
    detail = page(admin_client, f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert 'name="messages-0-subject"' not in detail
    assert 'name="messages-0-DELETE"' not in detail

    data = conversation_form(
        conversation,
        folder="sales-follow-up",
        **{
            "messages-TOTAL_FORMS": "2",
            "messages-INITIAL_FORMS": "1",
            "messages-0-id": message.pk,
            "messages-0-subject": "Tampered",
            "messages-0-DELETE": "on",
            "messages-1-subject": "Injected",
            "messages-1-modality": "email",
            "messages-1-direction": "sent",
        },
    )
    response = admin_client.post(
        f"/admin/conversations/conversation/{conversation.pk}/change/", data
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.folder == "sales-follow-up"
    assert list(Message.objects.unscoped().filter(conversation=conversation)) == [message]
    message.refresh_from_db()
    assert message.subject == "Original subject"


def test_the_inline_shows_messages_in_order_and_a_bounded_number(admin_client: Client) -> None:
    conversation = ConversationFactory.create()
    start = conversation.start_at
    MessageFactory.create(
        conversation=conversation, subject="Second", sent_at=start + timedelta(hours=2)
    )
    MessageFactory.create(
        conversation=conversation, subject="First", sent_at=start + timedelta(hours=1)
    )
    detail = page(admin_client, f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert detail.index("First") < detail.index("Second")
    assert f"?conversation__id__exact={conversation.pk}" in detail

    response = admin_client.get(
        f"/admin/conversations/message/?conversation__id__exact={conversation.pk}"
    )
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2


def test_saving_a_conversation_keeps_last_activity_at(admin_client: Client) -> None:
    conversation = ConversationFactory.create()
    later = timezone.localtime(conversation.start_at + timedelta(days=1)).replace(microsecond=0)
    data = conversation_form(
        conversation,
        start_at_0=later.strftime("%Y-%m-%d"),
        start_at_1=later.strftime("%H:%M:%S"),
    )
    response = admin_client.post(
        f"/admin/conversations/conversation/{conversation.pk}/change/", data
    )
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.start_at == later
    assert conversation.last_activity_at == later  # no messages: it follows start_at


@pytest.mark.parametrize(
    "path",
    ["/admin/conversations/conversation/", "/admin/conversations/message/", "/admin/sales/sale/"],
)
def test_changelists_do_not_query_per_row(admin_client: Client, path: str) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            page(admin_client, path)
        return len(captured)

    organization = OrganizationFactory.create()
    MessageFactory.create(conversation__organization=organization)
    SaleFactory.create(organization=organization)
    few = queries()
    for _ in range(5):
        MessageFactory.create(conversation__organization=organization)
        SaleFactory.create(organization=organization)
    assert queries() == few


def test_sale_pages_render_with_current_status(admin_client: Client) -> None:
    sale = SaleFactory.create()
    SaleStatusChange.objects.create(
        organization=sale.organization,
        sale=sale,
        label="Won it",
        status=SaleStatus.ACCEPTED,
        changed_at=sale.created_at + timedelta(days=1),
    )
    SaleContact.objects.create(
        organization=sale.organization,
        sale=sale,
        contact=ContactFactory.create(organization=sale.organization),
        is_primary=True,
    )
    listing = page(admin_client, "/admin/sales/sale/")
    assert sale.public_id in listing
    assert "Won it" in listing
    detail = page(admin_client, f"/admin/sales/sale/{sale.pk}/change/")
    assert detail.index('value="Quote sent"') < detail.index('value="Won it"')  # oldest first
    assert page(admin_client, f"/admin/sales/sale/?is_draft__exact=0&q={sale.public_id}")
    assert page(admin_client, "/admin/sales/sale/add/")


def sale_form(sale: Sale, **changes: Any) -> dict[str, Any]:
    """The change form as the page posts it, with the sale's current inline rows."""
    data: dict[str, Any] = {
        "company": sale.company_id or "",
        "owner": sale.owner_id or "",
        "quote_details": '{"output": {"currency": "USD", "total_price": "0.00"}}',
        "custom_fields": "{}",
        "last_activity_at_0": "2026-01-02",
        "last_activity_at_1": "10:00:00",
    }
    inlines = {
        "status_changes": SaleStatusChange.objects.unscoped()
        .filter(sale=sale)
        .order_by("changed_at", "id"),
        "sale_contacts": SaleContact.objects.unscoped().filter(sale=sale).order_by("id"),
        "sale_conversations": SaleConversation.objects.unscoped().filter(sale=sale).order_by("id"),
    }
    for prefix, rows in inlines.items():
        count = 0
        for count, row in enumerate(rows, start=1):
            index = count - 1
            data[f"{prefix}-{index}-id"] = row.pk
            data[f"{prefix}-{index}-sale"] = sale.pk
            if isinstance(row, SaleStatusChange):
                changed = timezone.localtime(row.changed_at)
                data[f"{prefix}-{index}-label"] = row.label
                data[f"{prefix}-{index}-status"] = row.status or ""
                data[f"{prefix}-{index}-changed_at_0"] = changed.strftime("%Y-%m-%d")
                data[f"{prefix}-{index}-changed_at_1"] = changed.strftime("%H:%M:%S")
            elif isinstance(row, SaleContact):
                data[f"{prefix}-{index}-contact"] = row.contact_id
                data[f"{prefix}-{index}-is_primary"] = "on" if row.is_primary else ""
            elif isinstance(row, SaleConversation):
                data[f"{prefix}-{index}-conversation"] = row.conversation_id
        data[f"{prefix}-TOTAL_FORMS"] = str(count)
        data[f"{prefix}-INITIAL_FORMS"] = str(count)
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
    return {**data, **changes}


def add_row(data: dict[str, Any], prefix: str, **fields: Any) -> dict[str, Any]:
    index = int(data[f"{prefix}-TOTAL_FORMS"])
    data[f"{prefix}-TOTAL_FORMS"] = str(index + 1)
    data.update({f"{prefix}-{index}-{name}": value for name, value in fields.items()})
    return data


def post_sale(client: Client, sale: Sale, data: dict[str, Any]) -> Any:
    return client.post(f"/admin/sales/sale/{sale.pk}/change/", data)


def test_a_new_status_change_takes_the_sales_organization(admin_client: Client) -> None:
    sale = SaleFactory.create()
    data = add_row(
        sale_form(sale),
        "status_changes",
        label="Site visit scheduled",
        status="",
        changed_at_0="2026-01-03",
        changed_at_1="09:30:00",
    )
    response = post_sale(admin_client, sale, data)
    assert response.status_code == 302, response.content.decode()
    change = SaleStatusChange.objects.unscoped().get(sale=sale, label="Site visit scheduled")
    assert change.organization_id == sale.organization_id
    assert change.status is None


def test_associated_rows_take_the_sales_organization(admin_client: Client) -> None:
    sale = SaleFactory.create()
    contact = ContactFactory.create(organization=sale.organization)
    conversation = ConversationFactory.create(organization=sale.organization, contact=contact)
    data = add_row(sale_form(sale), "sale_contacts", contact=contact.pk, is_primary="on")
    add_row(data, "sale_conversations", conversation=conversation.pk)
    response = post_sale(admin_client, sale, data)
    assert response.status_code == 302, response.content.decode()
    link = SaleContact.objects.unscoped().get(sale=sale)
    assert (link.contact, link.is_primary, link.organization_id) == (
        contact,
        True,
        sale.organization_id,
    )
    assert (
        SaleConversation.objects.unscoped().get(sale=sale).organization_id == sale.organization_id
    )


@pytest.mark.parametrize(
    ("prefix", "factory", "error"),
    [
        ("sale_contacts", ContactFactory, "Contact of another organization."),
        ("sale_conversations", ConversationFactory, "Conversation of another organization."),
    ],
)
def test_a_cross_tenant_row_on_a_sale_is_refused(
    admin_client: Client, prefix: str, factory: Any, error: str
) -> None:
    sale = SaleFactory.create()
    stranger = factory.create()  # another organization's
    field = prefix.removeprefix("sale_").removesuffix("s")
    response = post_sale(
        admin_client, sale, add_row(sale_form(sale), prefix, **{field: stranger.pk})
    )
    assert response.status_code == 200  # the form again, with the error
    assert error in response.content.decode()
    assert not SaleContact.objects.unscoped().filter(sale=sale).exists()
    assert not SaleConversation.objects.unscoped().filter(sale=sale).exists()


def test_a_contact_listed_twice_or_two_primaries_are_refused(admin_client: Client) -> None:
    sale = SaleFactory.create()
    first, second = ContactFactory.create_batch(2, organization=sale.organization)
    twice = add_row(sale_form(sale), "sale_contacts", contact=first.pk)
    add_row(twice, "sale_contacts", contact=first.pk)
    response = post_sale(admin_client, sale, twice)
    assert "This contact is listed twice." in response.content.decode()

    primaries = add_row(sale_form(sale), "sale_contacts", contact=first.pk, is_primary="on")
    add_row(primaries, "sale_contacts", contact=second.pk, is_primary="on")
    response = post_sale(admin_client, sale, primaries)
    assert "Only one contact of a sale is primary." in response.content.decode()
    assert not SaleContact.objects.unscoped().filter(sale=sale).exists()


def test_a_sale_added_with_its_history(admin_client: Client) -> None:
    contact = ContactFactory.create()
    organization = contact.organization
    data = {
        "organization": organization.pk,
        "company": contact.company_id,
        "owner": "",
        "quote_details": "{}",
        "custom_fields": "{}",
        "last_activity_at_0": "2026-01-02",
        "last_activity_at_1": "10:00:00",
        "is_draft": "on",
    }
    for prefix in ("status_changes", "sale_contacts", "sale_conversations"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    add_row(
        data,
        "status_changes",
        label="Quote sent",
        status="quote_sent",
        changed_at_0="2026-01-01",
        changed_at_1="08:00:00",
    )
    add_row(data, "sale_contacts", contact=contact.pk, is_primary="on")
    response = admin_client.post("/admin/sales/sale/add/", data)
    assert response.status_code == 302, response.content.decode()
    sale = Sale.objects.unscoped().get()
    assert sale.is_draft
    assert sale.public_id.startswith("sal_")
    assert SaleStatusChange.objects.unscoped().get().organization_id == organization.pk
    assert SaleContact.objects.unscoped().get().organization_id == organization.pk


@pytest.mark.parametrize(
    ("field", "typed", "reason"),
    [
        (
            "quote_details",
            '{"output": {"currency": "USD", "total_price": "12.345"}}',
            "is not an amount with at most two decimals",
        ),
        (
            "quote_details",
            '{"output": {"currency": "USD"}}',
            'missing field "quote_details.output.total_price"',
        ),
        ("quote_details", '{"outputs": {}}', 'unknown field "quote_details.outputs"'),
        ("quote_details", "[1, 2]", "quote_details must be an object"),
        ("custom_fields", '{"nested": {"a": 1}}', "Values must be strings"),
        ("custom_fields", '{"": "empty key"}', "Keys must be 1 to 64 characters."),
        ("custom_fields", "not json", "Enter a valid JSON."),
    ],
)
def test_the_admin_refuses_json_the_api_and_import_refuse(
    admin_client: Client, field: str, typed: str, reason: str
) -> None:
    sale = SaleFactory.create()
    before = (sale.quote_details, sale.custom_fields)
    response = post_sale(admin_client, sale, sale_form(sale, **{field: typed}))
    assert response.status_code == 200  # the form again, with the reason
    assert reason in html.unescape(response.content.decode())
    sale.refresh_from_db()
    assert (sale.quote_details, sale.custom_fields) == before


def test_json_saved_in_the_admin_is_what_the_import_would_store_and_exports_back(
    admin_client: Client, tmp_path: Path
) -> None:
    sale = SaleFactory.create(organization__public_id=ORG_ID)
    quote = '{"output": {"total_price": 1200, "currency": "USD"}, "agent_overrides": {}}'
    data = sale_form(sale, quote_details=quote, custom_fields='{"source": "fair", "visits": 2}')
    assert post_sale(admin_client, sale, data).status_code == 302
    sale.refresh_from_db()
    assert sale.quote_details == {
        "output": {"currency": "USD", "total_price": "1200.00"},
        "agent_overrides": {},
    }
    exported = export_bytes(tmp_path)
    import_file(write_lines(tmp_path / "again.jsonl", exported.decode().splitlines()))
    assert export_bytes(tmp_path) == exported


@pytest.mark.parametrize(
    "term", ["Marisol Quintero", "marisol@quintero.example", "(555) 010-2468", "+15550102468"]
)
def test_conversations_are_found_by_their_contacts_name_email_or_number(
    admin_client: Client, term: str
) -> None:
    wanted = ConversationFactory.create(
        contact__name="Marisol Quintero",
        contact__email="marisol@quintero.example",
        contact__phone_number="+1 555 010 2468",
    )
    other = ConversationFactory.create()
    listing = page(admin_client, f"/admin/conversations/conversation/?q={term}")
    assert wanted.public_id in listing
    assert other.public_id not in listing


def test_lists_are_newest_first_and_durations_read_as_durations(admin_client: Client) -> None:
    now = timezone.now()
    older = ConversationFactory.create(start_at=now - timedelta(days=2))
    newer = ConversationFactory.create(start_at=now - timedelta(days=1))
    listing = page(admin_client, "/admin/conversations/conversation/")
    assert listing.index(newer.public_id) < listing.index(older.public_id)
    MessageFactory.create(conversation=newer, direction=Direction.RECEIVED, sent_at=newer.start_at)
    MessageFactory.create(
        conversation=newer,
        direction=Direction.SENT,
        sent_at=newer.start_at + timedelta(hours=3, minutes=41, seconds=3),
    )
    detail = page(admin_client, f"/admin/conversations/conversation/{newer.pk}/change/")
    assert "3 h 41 min 3 s" in detail
    assert "13263000000" not in detail


def test_rows_on_a_sale_are_named_by_what_they_show(admin_client: Client) -> None:
    sale = SaleFactory.create()
    contact = ContactFactory.create(organization=sale.organization, name="Priya Raman")
    SaleContact.objects.create(organization=sale.organization, sale=sale, contact=contact)
    detail = page(admin_client, f"/admin/sales/sale/{sale.pk}/change/")
    assert "Priya Raman" in detail
    assert f"{sale.pk} - {contact.pk}" not in detail
