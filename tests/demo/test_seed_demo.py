import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, F, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Direction, Message, Modality, TrackedLink
from apps.organizations.models import Channel, Organization
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatus, SaleStatusChange
from tests.helpers import Api

pytestmark = pytest.mark.django_db


def seed(*args: str) -> tuple[Organization, str]:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=io.StringIO())
    organization = Organization.objects.order_by("-id").first()
    assert organization is not None
    return organization, out.getvalue().splitlines()[-1]


@pytest.fixture
def demo() -> tuple[Organization, str]:
    return seed()


def test_the_default_is_small(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    assert Message.objects.for_org(organization).count() == 2000
    assert Agent.objects.for_org(organization).count() == 5
    assert Company.objects.for_org(organization).count() == 20
    assert Contact.objects.for_org(organization).count() == 200
    assert 200 <= Conversation.objects.for_org(organization).count() <= 450
    assert Sale.objects.for_org(organization).count() == 40


def test_every_modality_in_both_directions(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    messages = Message.objects.for_org(organization)
    assert set(messages.values_list("modality", flat=True)) == set(Modality.values)
    for modality in (Modality.EMAIL, Modality.TEXT, Modality.CALL, Modality.LIVE_CHAT):
        directions = set(messages.filter(modality=modality).values_list("direction", flat=True))
        assert directions == set(Direction.values), modality


def test_messages_carry_the_content_of_their_modality(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    messages = Message.objects.for_org(organization)
    calls = messages.filter(modality=Modality.CALL)
    assert not calls.filter(Q(call_transcript=None) | Q(call_duration=None)).exists()
    forms = messages.filter(modality=Modality.FORM)
    assert all(
        isinstance(body, dict) and body
        for body in forms.values_list("form_request_body", flat=True)
    )
    assert not messages.exclude(modality=Modality.FORM).exclude(form_request_body=None).exists()
    emails = messages.filter(modality=Modality.EMAIL)
    assert not emails.filter(Q(subject=None) | Q(email_message_id=None)).exists()
    assert emails.exclude(cc_emails=[]).exists()
    assert emails.filter(direction=Direction.SENT).exclude(bcc_emails=[]).exists()
    assert not messages.filter(direction=Direction.RECEIVED).exclude(agent=None).exists()
    assert messages.exclude(drafted_at=None).exists()
    assert not messages.filter(drafted_at__gt=F("sent_at")).exists()


def test_tracked_links_on_sent_messages_some_clicked(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    links = TrackedLink.objects.for_org(organization)
    assert links.filter(message__modality=Modality.EMAIL).exists()
    assert not links.exclude(message__direction=Direction.SENT).exists()
    assert links.filter(click_count__gt=0).exists()
    assert links.filter(click_count=0).exists()
    for link in links.select_related("message")[:20]:
        assert link.url in (link.message.content or "")


def test_a_realistic_response_pattern(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    first = Message.objects.unscoped().filter(conversation=OuterRef("pk")).order_by("sent_at", "id")
    conversations = Conversation.objects.for_org(organization).annotate(
        sent=Count("messages", filter=Q(messages__direction=Direction.SENT)),
        first_direction=Subquery(first.values("direction")[:1]),
    )
    assert conversations.filter(sent=0).exists()  # never answered
    starts = list(conversations.values_list("first_direction", flat=True))
    assert starts.count(Direction.RECEIVED) > 3 * starts.count(Direction.SENT) > 0
    start_ats = conversations.values_list("start_at", flat=True)
    assert (max(start_ats) - min(start_ats)).days > 300
    assert set(conversations.values_list("folder", flat=True)) >= {"inbox", "sales-follow-up"}
    assert {True, False} == set(conversations.values_list("is_read", flat=True))
    assert conversations.exclude(agent=None).exists()


def test_last_activity_is_the_latest_message(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    conversations = Conversation.objects.for_org(organization).annotate(
        expected=Coalesce(Max("messages__sent_at"), F("start_at"))
    )
    assert not conversations.exclude(last_activity_at=F("expected")).exists()
    assert (
        not Message.objects.for_org(organization)
        .filter(sent_at__lt=F("conversation__start_at"))
        .exists()
    )


def test_sales_at_every_status_with_their_details(demo: tuple[Organization, str]) -> None:
    organization, key = demo
    body = Api(key).get(f"/organizations/{organization.public_id}/sales", {"limit": 100}).json()
    sales = body["data"]
    assert {sale["current_status"]["status"] for sale in sales} == {*SaleStatus.values, None}
    drafts = Sale.objects.for_org(organization).filter(is_draft=True)
    assert 1 <= drafts.count() < Sale.objects.for_org(organization).count()
    assert not {s.public_id for s in drafts} & {sale["sale_id"] for sale in sales}
    for sale in sales:
        assert sale["status_history"][0]["status"] == SaleStatus.QUOTE_SENT
        changed = [change["changed_at"] for change in sale["status_history"]]
        assert changed == sorted(changed)
        primaries = [c for c in sale["associated_contacts"] if c["is_primary"]]
        assert len(primaries) == 1
        quote = sale["quote_details"]
        products = quote["arguments"]["products"]
        total = sum(Decimal(p["unit_price"]) * p["quantity"] for p in products)
        assert quote["output"] == {"currency": "USD", "total_price": f"{total:.2f}"}
        assert all(p["unit_price"] == f"{Decimal(p['unit_price']):.2f}" for p in products)
    assert any(sale["associated_conversation_ids"] for sale in sales)


def test_every_row_is_in_the_organization(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    seed("--messages", "50", "--name", "Second")  # another tenant, to have something to miss
    mine = Q(organization=organization)
    checks = [
        Message.objects.unscoped().filter(mine).exclude(conversation__organization=organization),
        Message.objects.unscoped()
        .filter(mine)
        .exclude(Q(agent=None) | Q(agent__organization=organization)),
        Conversation.objects.unscoped().filter(mine).exclude(contact__organization=organization),
        Conversation.objects.unscoped()
        .filter(mine)
        .exclude(Q(agent=None) | Q(agent__organization=organization)),
        TrackedLink.objects.unscoped().filter(mine).exclude(message__organization=organization),
        Contact.objects.unscoped()
        .filter(mine)
        .exclude(Q(company=None) | Q(company__organization=organization)),
        Company.objects.unscoped()
        .filter(mine)
        .exclude(Q(agent=None) | Q(agent__organization=organization)),
        Sale.objects.unscoped()
        .filter(mine)
        .exclude(Q(company=None) | Q(company__organization=organization)),
        Sale.objects.unscoped()
        .filter(mine)
        .exclude(Q(owner=None) | Q(owner__organization=organization)),
        SaleStatusChange.objects.unscoped().filter(sale__organization=organization).exclude(mine),
        SaleContact.objects.unscoped()
        .filter(sale__organization=organization)
        .exclude(mine & Q(contact__organization=organization)),
        SaleConversation.objects.unscoped()
        .filter(sale__organization=organization)
        .exclude(mine & Q(conversation__organization=organization)),
    ]
    for rows in checks:
        assert not rows.exists(), rows.query
    assert SaleContact.objects.unscoped().filter(mine).exists()
    assert SaleConversation.objects.unscoped().filter(mine).exists()


def test_its_channels_send_to_the_console_and_a_message_draft_goes_through(
    demo: tuple[Organization, str],
) -> None:
    organization, key = demo
    channels = {c.kind: c for c in Channel.objects.for_org(organization).filter(enabled=True)}
    assert set(channels) == {"email", "text", "form"}
    assert channels["email"].transport_url() == "console://"
    # The text channel's console transport carries Twilio credentials: its inbound texts are
    # signed with them.
    assert re.fullmatch(r"console://AC[0-9a-f]{32}:[0-9a-f]{32}@", channels["text"].transport_url())
    assert channels["email"].sender == '"Acme Roofing (demo)" <sales@acmeroofingdemo.example>'
    assert channels["email"].reply_domain == "reply.acmeroofingdemo.example"
    assert not channels["form"].has_transport
    path = f"/organizations/{organization.public_id}/message-drafts"
    api = Api(key)
    email = api.post(
        path,
        {"modality": "email", "subject": "Hello", "body_html": "<p>Hi</p>", "to_email": "a@b.co"},
    )
    assert email.status_code == 200, email.content
    text = api.post(path, {"modality": "text", "body_html": "Hi", "to_phone_number": "+15551234"})
    assert text.status_code == 200, text.content


def test_messages_scales_the_seed_exactly() -> None:
    organization, _key = seed("--messages", "1234", "--seed", "3")
    assert Message.objects.for_org(organization).count() == 1234
    assert Contact.objects.for_org(organization).count() == 123
    assert Company.objects.for_org(organization).count() == 12
    assert Sale.objects.for_org(organization).count() == 24


def test_the_same_seed_gives_the_same_data() -> None:
    first, _ = seed("--messages", "300", "--seed", "11")
    second, _ = seed("--messages", "300", "--seed", "11")
    other, _ = seed("--messages", "300", "--seed", "12")

    def rows(organization: Organization) -> list[tuple[object, ...]]:
        return list(
            Message.objects.for_org(organization)
            .order_by("public_id")
            .values_list("public_id", "conversation__public_id", "modality", "subject", "content")
        )

    assert rows(first) == rows(second)
    assert rows(first) != rows(other)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--messages", "-1"], "--messages cannot be negative"),
        (["--messages", "10", "--contacts", "0"], "needs at least one contact"),
    ],
)
def test_seed_demo_refuses_impossible_sizes(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("seed_demo", *args, stdout=io.StringIO())
    assert not Organization.objects.exists()


def test_a_call_is_told_by_whoever_placed_it(demo: tuple[Organization, str]) -> None:
    organization, _key = demo
    calls = Message.objects.for_org(organization).filter(modality="call")
    outbound = "calling about the quote we sent"
    assert calls.filter(direction=Direction.SENT, call_transcript__contains=outbound).exists()
    assert not calls.filter(
        direction=Direction.RECEIVED, call_transcript__contains=outbound
    ).exists()
    assert not calls.filter(
        direction=Direction.SENT, call_transcript__contains="Voicemail"
    ).exists()


def test_it_prints_where_its_channels_receive() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--messages", "0", stdout=out, stderr=io.StringIO())
    organization = Organization.objects.get()
    tokens = {c.kind: c.inbound_token for c in Channel.objects.for_org(organization)}
    lines = out.getvalue().splitlines()
    auth = Channel.objects.for_org(organization).get(kind="text").transport_url()[45:77]
    assert lines[1:4] == [
        f"inbound email: /inbound/email/{tokens['email']}",
        f"inbound form: /inbound/form/{tokens['form']}",
        f"inbound text: /inbound/text/{tokens['text']} (Twilio auth token {auth})",
    ]
