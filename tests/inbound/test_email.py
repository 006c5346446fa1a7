"""Inbound email: the raw route, the MTA pipe, threading and dedupe."""

import io
from textwrap import dedent
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.inbound.models import EventStatus, InboundEvent
from apps.organizations.models import Channel, Organization
from tests.factories import ContactFactory, ConversationFactory, MessageFactory
from tests.inbound.conftest import only_event, process, received

pytestmark = pytest.mark.django_db


def eml(text: str) -> bytes:
    return dedent(text).lstrip().replace("\n", "\r\n").encode()


PLAIN = eml("""
    From: Ann Lee <Ann@Example.com>
    To: sales@acme.example
    Cc: Bob <bob@example.com>
    Subject: Roof quote
    Message-ID: <first@mail.example.com>
    Date: Tue, 01 Dec 2026 10:00:00 +0000
    Content-Type: text/plain; charset=utf-8

    Hello, how much for a new roof?
""")


def post(client: Client, channel: Channel, raw: bytes, **extra: Any) -> Any:
    return client.post(
        f"/inbound/email/{channel.inbound_token}", raw, content_type="message/rfc822", **extra
    )


def test_a_new_email_starts_a_conversation_with_a_new_contact(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    response = post(client, channels["email"], PLAIN)
    assert response.status_code == 202
    assert response.json() == {"detail": "Accepted"}
    event = only_event()
    assert event.status == EventStatus.RECEIVED
    assert bytes(event.body) == PLAIN
    process()
    event.refresh_from_db()
    assert event.status == EventStatus.PROCESSED
    message = event.message
    assert message is not None
    assert (message.direction, message.modality) == (Direction.RECEIVED, Modality.EMAIL)
    assert message.subject == "Roof quote"
    assert message.content == "Hello, how much for a new roof?"
    assert message.email_message_id == "<first@mail.example.com>"
    assert message.cc_emails == ["bob@example.com"]
    conversation = message.conversation
    assert conversation.folder == "inbox"
    assert conversation.is_read is False
    assert conversation.last_activity_at == message.sent_at == event.received_at
    assert conversation.first_inbound_at == message.sent_at
    assert (conversation.contact.email, conversation.contact.name) == ("Ann@Example.com", "Ann Lee")


def test_the_same_email_twice_is_one_message(client: Client, channels: dict[str, Channel]) -> None:
    assert post(client, channels["email"], PLAIN).status_code == 202
    assert post(client, channels["email"], PLAIN).status_code == 202
    process()
    assert InboundEvent.objects.unscoped().count() == 1
    assert Message.objects.unscoped().count() == 1


def test_a_known_sender_is_found_case_insensitively(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    ann = ContactFactory.create(organization=organization, email="ann@example.com")
    post(client, channels["email"], PLAIN)
    process()
    assert received().conversation.contact == ann


@pytest.fixture
def earlier(organization: Organization) -> Conversation:
    """A conversation whose sent email has Message-ID <sent-1@acme.example>."""
    contact = ContactFactory.create(organization=organization, email="ann@example.com")
    conversation = ConversationFactory.create(
        organization=organization, contact=contact, reply_token="tok123"
    )
    MessageFactory.create(
        organization=organization,
        conversation=conversation,
        modality=Modality.EMAIL,
        direction=Direction.SENT,
        email_message_id="<sent-1@acme.example>",
    )
    conversation.refresh_from_db()
    return conversation


def reply(headers: str) -> bytes:
    return eml(
        "From: Ann Lee <ann@example.com>\n"
        "To: Acme <sales@acme.example>\n"
        "Subject: Re: Your quote\n"
        "Message-ID: <reply-1@mail.example.com>\n"
        f"{headers}"
        "Content-Type: text/plain\n"
        "\n"
        "Yes please.\n"
    )


@pytest.mark.parametrize(
    "headers",
    [
        "In-Reply-To: <sent-1@acme.example>\n",
        "References: <unknown@x.example> <sent-1@acme.example>\n",
    ],
    ids=["in-reply-to", "references-only"],
)
def test_a_reply_joins_the_conversation_it_answers(
    client: Client, channels: dict[str, Channel], earlier: Conversation, headers: str
) -> None:
    post(client, channels["email"], reply(headers))
    process()
    message = received()
    assert message.conversation == earlier
    earlier.refresh_from_db()
    assert earlier.is_read is False
    assert earlier.last_activity_at == message.sent_at


def test_a_reply_found_by_its_plus_address_alone(
    client: Client, channels: dict[str, Channel], earlier: Conversation
) -> None:
    raw = reply("").replace(
        b"To: Acme <sales@acme.example>", b"To: Acme <reply+tok123@reply.acme.example>"
    )
    post(client, channels["email"], raw)
    process()
    assert received().conversation == earlier


def test_a_plus_address_of_another_domain_names_nothing(
    client: Client, channels: dict[str, Channel], earlier: Conversation
) -> None:
    raw = reply("").replace(b"To: Acme <sales@acme.example>", b"To: reply+tok123@elsewhere.example")
    post(client, channels["email"], raw)
    process()
    assert received().conversation != earlier


def test_a_forged_in_reply_to_of_another_organization_starts_a_conversation_here(
    client: Client,
    channels: dict[str, Channel],
    organization: Organization,
    other_organization: Organization,
) -> None:
    theirs = ConversationFactory.create(organization=other_organization, reply_token="tok123")
    MessageFactory.create(
        organization=other_organization,
        conversation=theirs,
        modality=Modality.EMAIL,
        email_message_id="<sent-1@acme.example>",
    )
    raw = reply("In-Reply-To: <sent-1@acme.example>\n").replace(
        b"To: Acme <sales@acme.example>", b"To: reply+tok123@reply.acme.example"
    )
    post(client, channels["email"], raw)
    process()
    message = received()
    assert message.organization == organization
    assert message.conversation.organization == organization
    assert message.conversation.contact.organization == organization
    assert Message.objects.for_org(other_organization).count() == 1


def test_the_mta_pipe_stores_the_email(channels: dict[str, Channel]) -> None:
    out = io.StringIO()
    stdin = io.TextIOWrapper(io.BytesIO(PLAIN))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", stdin)
        call_command("ingest_email", channel=channels["email"].inbound_token, stdout=out)
    assert out.getvalue().strip() == "stored"
    process()
    assert received().subject == "Roof quote"


@pytest.mark.parametrize(
    ("token", "code"), [("nope", 67), (None, 65)], ids=["unknown-token", "not-an-email"]
)
def test_the_mta_pipe_exits_with_what_the_mta_understands(
    channels: dict[str, Channel], token: str | None, code: int
) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"just some bytes\r\n"))
    token = token or channels["email"].inbound_token
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", stdin)
        with pytest.raises(SystemExit) as exited:
            call_command("ingest_email", f"--channel={token}", stderr=io.StringIO())
    assert exited.value.code == code


def test_unknown_token_and_disabled_channel_are_404(
    client: Client, channels: dict[str, Channel]
) -> None:
    assert client.post("/inbound/email/nope", PLAIN, content_type="message/rfc822").json() == {
        "detail": "Not found"
    }
    channel = channels["email"]
    channel.enabled = False
    channel.save()
    assert post(client, channel, PLAIN).status_code == 404
    assert InboundEvent.objects.unscoped().count() == 0


def test_wrong_content_type_is_415(client: Client, channels: dict[str, Channel]) -> None:
    response = client.post(
        f"/inbound/email/{channels['email'].inbound_token}", PLAIN, content_type="text/plain"
    )
    assert response.status_code == 415
    assert response.json() == {"detail": "Content-Type must be message/rfc822"}


def test_an_unparseable_email_is_400_and_kept(client: Client, channels: dict[str, Channel]) -> None:
    response = post(client, channels["email"], b"Subject: no sender\r\n\r\nhello\r\n")
    assert response.status_code == 400
    assert response.json() == {"detail": "the message has no From address"}
    event = only_event()
    assert event.status == EventStatus.REFUSED
    assert event.last_error == "the message has no From address"
    assert event.next_attempt_at is None


@pytest.mark.parametrize(
    ("header", "value"),
    [
        ("To", "REPLY+TOK123@REPLY.ACME.EXAMPLE"),  # a server that folded the address
        ("In-Reply-To", "sent-1@acme.example"),  # a client that dropped the brackets
    ],
    ids=["upper-case-plus-address", "bare-in-reply-to"],
)
def test_replies_as_some_clients_write_them(
    client: Client, channels: dict[str, Channel], earlier: Conversation, header: str, value: str
) -> None:
    raw = reply(f"{header}: {value}\n" if header != "To" else "")
    if header == "To":
        raw = raw.replace(b"To: Acme <sales@acme.example>", f"To: {value}".encode())
    post(client, channels["email"], raw)
    process()
    assert received().conversation == earlier
