"""A corpus of inbound emails in the shapes real clients and servers send, each posted to
the raw route and processed: what it becomes (a received message, a settled draft, an
ignored or refused event), and never a 500."""

import base64
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.drafts.models import DraftStatus, ResponseDraft
from apps.inbound.email import Bounce, parse_email
from apps.inbound.events import digest_id
from apps.inbound.models import EventStatus, InboundEvent
from apps.organizations.models import Channel, Organization
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    ResponseDraftFactory,
)
from tests.inbound.conftest import only_event, process
from tests.inbound.test_email import eml, post

pytestmark = pytest.mark.django_db


def received(client: Client, channel: Channel, raw: bytes) -> Message:
    """Post the email, process it: the received message it became."""
    response = post(client, channel, raw)
    assert response.status_code == 202, response.content
    process()
    event = only_event()
    assert (event.status, event.last_error) == (EventStatus.PROCESSED, None)
    message = event.message
    assert message is not None
    assert message.direction == Direction.RECEIVED
    assert message.modality == Modality.EMAIL
    return message


def refused(client: Client, channel: Channel, raw: bytes, **extra: str) -> str:
    """Post the email, which is refused: the reason, the same in the 400 and the event."""
    response = post(client, channel, raw, **extra)
    assert response.status_code == 400, response.content
    reason: str = response.json()["detail"]
    event = only_event()
    assert (event.status, event.last_error, bytes(event.body)) == (EventStatus.REFUSED, reason, raw)
    return reason


def headers_and(headers: str, body: bytes) -> bytes:
    """The headers (CRLF, as eml() writes them) and a body of raw bytes."""
    return eml(headers) + body


# -- bodies ---------------------------------------------------------------------------------


def test_plain_text(client: Client, channels: dict[str, Channel]) -> None:
    raw = eml("""
        From: Ann Lee <ann@example.com>
        To: sales@acme.example
        Subject: Gutters
        Message-ID: <plain-1@mail.example.com>
        Date: Tue, 01 Dec 2026 10:00:00 +0000
        MIME-Version: 1.0
        Content-Type: text/plain; charset="us-ascii"
        Content-Transfer-Encoding: 7bit

        Hi,

        Do you clean gutters too?

        Ann
    """)
    message = received(client, channels["email"], raw)
    assert message.content == "Hi,\r\n\r\nDo you clean gutters too?\r\n\r\nAnn"
    assert message.subject == "Gutters"
    assert message.email_message_id == "<plain-1@mail.example.com>"


def test_html_only_the_content_is_the_html(client: Client, channels: dict[str, Channel]) -> None:
    raw = eml("""
        From: Ann Lee <ann@example.com>
        To: sales@acme.example
        Subject: Gutters
        Message-ID: <html-1@mail.example.com>
        MIME-Version: 1.0
        Content-Type: text/html; charset=UTF-8

        <html><body><p>Do you clean <b>gutters</b> too?</p></body></html>
    """)
    message = received(client, channels["email"], raw)
    assert message.content == "<html><body><p>Do you clean <b>gutters</b> too?</p></body></html>"


def test_multipart_alternative_the_content_is_the_text_part(
    client: Client, channels: dict[str, Channel]
) -> None:
    raw = eml("""
        From: Ann Lee <ann@example.com>
        To: sales@acme.example
        Subject: Gutters
        Message-ID: <alt-1@mail.example.com>
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="000000000000a1b2c3"

        --000000000000a1b2c3
        Content-Type: text/plain; charset="UTF-8"

        Do you clean gutters too?

        --000000000000a1b2c3
        Content-Type: text/html; charset="UTF-8"

        <div dir="ltr">Do you clean <b>gutters</b> too?</div>

        --000000000000a1b2c3--
    """)
    message = received(client, channels["email"], raw)
    assert message.content == "Do you clean gutters too?"


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (
            "quoted-printable",
            b"Hello Ann,\r\nThe quote is =E2=82=AC4,200 for the whole roof, tear-off and d=\r\n"
            b"isposal included.=20\r\nCaf=C3=A9 at noon?\r\n",
        ),
        (
            "base64",
            base64.encodebytes(
                "Hello Ann,\r\nThe quote is €4,200 for the whole roof, tear-off and disposal "
                "included. \r\nCafé at noon?\r\n".encode()
            ).replace(b"\n", b"\r\n"),
        ),
    ],
    ids=["quoted-printable", "base64"],
)
def test_transfer_encodings_are_decoded(
    client: Client, channels: dict[str, Channel], encoding: str, body: bytes
) -> None:
    raw = headers_and(
        "From: Ann Lee <ann@example.com>\n"
        "To: sales@acme.example\n"
        "Subject: Quote\n"
        f"Message-ID: <{encoding}@mail.example.com>\n"
        "MIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\n"
        f"Content-Transfer-Encoding: {encoding}\n"
        "\n",
        body,
    )
    message = received(client, channels["email"], raw)
    assert message.content == (
        "Hello Ann,\r\nThe quote is €4,200 for the whole roof, tear-off and disposal "
        "included. \r\nCafé at noon?"
    )


# -- encoded words --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("from_header", "subject_header", "name", "subject"),
    [
        (
            "=?UTF-8?B?Sm9zw6kgTsO6w7Fleg==?= <jose@example.com>",
            "=?UTF-8?B?T3LDp2FtZW50byBkbyB0ZWxoYWRvIOKAkyB1cmdlbnRl?=",
            "José Núñez",
            "Orçamento do telhado \u2013 urgente",
        ),
        (
            "=?ISO-8859-1?Q?J=F6rg_M=FCller?= <jose@example.com>",
            "=?ISO-8859-1?Q?Angebot_f=FCr_das_Dach?=",
            "Jörg Müller",
            "Angebot für das Dach",
        ),
        (  # Outlook: a quoted name, and a subject folded into two encoded words
            '"=?utf-8?Q?Lee=2C_Ann?=" <jose@example.com>',
            "=?utf-8?B?UHJlw6dv?=\n =?utf-8?B?IMOzdGltbw==?= for the roof",
            "Lee, Ann",
            "Preço ótimo for the roof",
        ),
        (  # iso-2022-jp, as Japanese clients send it
            "=?ISO-2022-JP?B?GyRCJCo4K0BRJGobKEI=?= <jose@example.com>",
            "=?ISO-2022-JP?B?GyRCJCo4K0BRJGobKEI=?=",
            "お見積り",
            "お見積り",
        ),
    ],
    ids=["utf-8-b", "iso-8859-1-q", "folded", "iso-2022-jp"],
)
def test_encoded_word_subjects_and_names_are_decoded(
    client: Client,
    channels: dict[str, Channel],
    from_header: str,
    subject_header: str,
    name: str,
    subject: str,
) -> None:
    raw = eml(
        f"From: {from_header}\n"
        "To: Acme Roofing <sales@acme.example>\n"
        f"Subject: {subject_header}\n"
        "Message-ID: <ew-1@mail.example.com>\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "Hello\n"
    )
    message = received(client, channels["email"], raw)
    assert message.subject == subject
    contact = message.conversation.contact
    assert (contact.name, contact.email) == (name, "jose@example.com")


def test_raw_utf8_headers_are_decoded(client: Client, channels: dict[str, Channel]) -> None:
    """RFC 6532: UTF-8 in the headers as it is, no encoded words."""
    raw = eml("""
        From: José Núñez <jose@example.com>
        To: sales@acme.example
        Subject: Orçamento \u2013 telhado
        Message-ID: <raw-utf8@mail.example.com>
        Content-Type: text/plain; charset=utf-8
        Content-Transfer-Encoding: 8bit

        Olá!
    """)
    message = received(client, channels["email"], raw)
    assert (message.subject, message.content) == ("Orçamento \u2013 telhado", "Olá!")
    assert message.conversation.contact.name == "José Núñez"


# -- charsets -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("charset", "encoding", "body", "content"),
    [
        (
            "iso-8859-1",
            "8bit",
            "Grüße aus Köln, ça va?".encode("latin-1"),
            "Grüße aus Köln, ça va?",
        ),
        (
            "windows-1252",
            "8bit",
            "“Quote” \u2013 50 € café".encode("cp1252"),
            "“Quote” \u2013 50 € café",
        ),
        (  # Outlook's usual mislabel: Windows-1252 quotes in an ISO-8859-1 part
            "iso-8859-1",
            "quoted-printable",
            b"=93Quote=94 =96 50 =80 caf=E9",
            "“Quote” \u2013 50 € café",
        ),
        (
            "iso-2022-jp",
            "7bit",
            "見積もりをお願いします。".encode("iso2022_jp"),
            "見積もりをお願いします。",
        ),
        ("gb2312", "8bit", "你好屋顶报价多少".encode("gb2312"), "你好屋顶报价多少"),
        (  # labelled gb2312, written as GBK (镕 is not in GB 2312): what Chinese clients do
            "gb2312",
            "base64",
            base64.encodebytes("朱镕基的屋顶".encode("gbk")),
            "朱镕基的屋顶",
        ),
        ("utf-8", "8bit", "Ünïcödé ✓".encode(), "Ünïcödé ✓"),
    ],
    ids=[
        "iso-8859-1",
        "windows-1252",
        "iso-8859-1-as-windows-1252",
        "iso-2022-jp",
        "gb2312",
        "gb2312-as-gbk",
        "utf-8",
    ],
)
def test_charsets_are_decoded(
    client: Client,
    channels: dict[str, Channel],
    charset: str,
    encoding: str,
    body: bytes,
    content: str,
) -> None:
    raw = headers_and(
        "From: ann@example.com\n"
        "To: sales@acme.example\n"
        "Subject: Charset\n"
        "Message-ID: <charset@mail.example.com>\n"
        f'Content-Type: text/plain; charset="{charset}"\n'
        f"Content-Transfer-Encoding: {encoding}\n"
        "\n",
        body + b"\r\n",
    )
    assert received(client, channels["email"], raw).content == content


@pytest.mark.parametrize(
    ("content_type", "body", "content"),
    [
        ('text/plain; charset="x-unknown"', "café ✓".encode(), "café ✓"),  # UTF-8 bytes
        ('text/plain; charset="x-unknown"', "café".encode("cp1252"), "café"),  # else 1252
        ("text/plain; charset=", "café".encode(), "café"),
        ("text/plain", "café".encode(), "café"),  # undeclared: us-ascii, written as UTF-8
        (None, "café".encode(), "café"),  # no Content-Type at all
    ],
    ids=["unknown-utf8", "unknown-8bit", "empty", "undeclared", "no-content-type"],
)
def test_an_unknown_or_missing_charset_is_decoded_leniently(
    client: Client,
    channels: dict[str, Channel],
    content_type: str | None,
    body: bytes,
    content: str,
) -> None:
    raw = headers_and(
        "From: ann@example.com\n"
        "To: sales@acme.example\n"
        "Subject: Charset\n"
        "Message-ID: <unknown-charset@mail.example.com>\n"
        + (f"Content-Type: {content_type}\n" if content_type else "")
        + "\n",
        body + b"\r\n",
    )
    assert received(client, channels["email"], raw).content == content


# -- replies --------------------------------------------------------------------------------


@pytest.fixture
def sent(organization: Organization) -> Message:
    """A sent email, Message-ID <msg_sent1@acme.example>, of a conversation with Ann."""
    contact = ContactFactory.create(organization=organization, email="ann@example.com")
    conversation = ConversationFactory.create(organization=organization, contact=contact)
    message: Message = MessageFactory.create(
        organization=organization,
        conversation=conversation,
        modality=Modality.EMAIL,
        direction=Direction.SENT,
        subject="Your roof quote",
        email_message_id="<msg_sent1@acme.example>",
        sent_at=timezone.now() - timedelta(hours=2),
    )
    return message


GMAIL_REPLY = eml("""
    MIME-Version: 1.0
    Date: Wed, 2 Dec 2026 09:14:03 -0800
    References: <CAE7xK0b1Qm+first=x@mail.gmail.com>
     <msg_sent1@acme.example>
    In-Reply-To: <msg_sent1@acme.example>
    Message-ID: <CAE7xK0dZ3v_reply+9=Q@mail.gmail.com>
    Subject: Re: Your roof quote
    From: Ann Lee <ann@example.com>
    To: Acme Roofing <sales@acme.example>
    Content-Type: multipart/alternative; boundary="0000000000004f8a1c05f2b3"

    --0000000000004f8a1c05f2b3
    Content-Type: text/plain; charset="UTF-8"
    Content-Transfer-Encoding: quoted-printable

    Tuesday works.

    On Wed, Dec 2, 2026 at 7:10=E2=80=AFAM Acme Roofing <sales@acme.example> wrot=
    e:

    > Can we come Tuesday?
    >

    --0000000000004f8a1c05f2b3
    Content-Type: text/html; charset="UTF-8"
    Content-Transfer-Encoding: quoted-printable

    <div dir=3D"ltr">Tuesday works.</div><br><div class=3D"gmail_quote">...</div>

    --0000000000004f8a1c05f2b3--
""")

OUTLOOK_REPLY = eml("""
    Received: from DM6PR11MB1234.namprd11.prod.outlook.com by
     DM6PR11MB5678.namprd11.prod.outlook.com; Wed, 2 Dec 2026 17:14:03 +0000
    From: "Lee, Ann" <ann@example.com>
    To: Acme Roofing <sales@acme.example>
    Subject: RE: Your roof quote
    Thread-Topic: Your roof quote
    Thread-Index: AQHZ8kq3c2Vhb3V0bG9vaw==
    Date: Wed, 2 Dec 2026 17:14:03 +0000
    Message-ID:
     <DM6PR11MB1234A1B2C3D4E5F6A7B8C9D0E1F2A@DM6PR11MB1234.namprd11.prod.outlook.com>
    References: <msg_sent1@acme.example>
     <DM6PR11MB12340F0E0D0C0B0A09080706050403@DM6PR11MB1234.namprd11.prod.outlook.com>
     <unknown-elsewhere@mail.example.net>
    In-Reply-To:
     <DM6PR11MB12340F0E0D0C0B0A09080706050403@DM6PR11MB1234.namprd11.prod.outlook.com>
    Accept-Language: en-US
    Content-Language: en-US
    X-MS-Has-Attach:
    X-MS-TNEF-Correlator:
    Content-Type: multipart/alternative;
    \tboundary="_000_DM6PR11MB1234A1B2C3D4E5F6A7B8C9D0E1F2ADM6PR11MB1234namp_"
    MIME-Version: 1.0

    --_000_DM6PR11MB1234A1B2C3D4E5F6A7B8C9D0E1F2ADM6PR11MB1234namp_
    Content-Type: text/plain; charset="Windows-1252"
    Content-Transfer-Encoding: quoted-printable

    Tuesday works =96 see you then.

    ________________________________
    From: Acme Roofing <sales@acme.example>
    Sent: Wednesday, December 2, 2026 7:10 AM
    Subject: Your roof quote

    Can we come Tuesday?

    --_000_DM6PR11MB1234A1B2C3D4E5F6A7B8C9D0E1F2ADM6PR11MB1234namp_
    Content-Type: text/html; charset="Windows-1252"
    Content-Transfer-Encoding: quoted-printable

    <html><body><p>Tuesday works =96 see you then.</p></body></html>

    --_000_DM6PR11MB1234A1B2C3D4E5F6A7B8C9D0E1F2ADM6PR11MB1234namp_--
""")


@pytest.mark.parametrize(
    ("raw", "message_id", "content"),
    [
        (
            GMAIL_REPLY,
            "<CAE7xK0dZ3v_reply+9=Q@mail.gmail.com>",
            "Tuesday works.\r\n\r\nOn Wed, Dec 2, 2026 at 7:10\u202fAM Acme Roofing "
            "<sales@acme.example> wrote:\r\n\r\n> Can we come Tuesday?\r\n>",
        ),
        (
            OUTLOOK_REPLY,
            "<DM6PR11MB1234A1B2C3D4E5F6A7B8C9D0E1F2A@DM6PR11MB1234.namprd11.prod.outlook.com>",
            "Tuesday works \u2013 see you then.\r\n\r\n________________________________\r\n"
            "From: Acme Roofing <sales@acme.example>\r\n"
            "Sent: Wednesday, December 2, 2026 7:10 AM\r\n"
            "Subject: Your roof quote\r\n\r\nCan we come Tuesday?",
        ),
    ],
    ids=["gmail", "outlook"],
)
def test_a_reply_threads_by_its_references(
    client: Client,
    channels: dict[str, Channel],
    sent: Message,
    raw: bytes,
    message_id: str,
    content: str,
) -> None:
    message = received(client, channels["email"], raw)
    assert message.conversation_id == sent.conversation_id
    assert message.email_message_id == message_id
    assert message.content == content
    assert Conversation.objects.for_org(sent.organization_id).count() == 1
    conversation = message.conversation
    assert conversation.is_read is False
    assert conversation.last_activity_at == message.sent_at


def test_outlook_references_are_read_newest_first() -> None:
    parsed = parse_email(OUTLOOK_REPLY)
    assert parsed.answers == [
        "<DM6PR11MB12340F0E0D0C0B0A09080706050403@DM6PR11MB1234.namprd11.prod.outlook.com>",
        "<unknown-elsewhere@mail.example.net>",
        "<msg_sent1@acme.example>",
    ]
    assert parsed.from_name == "Lee, Ann"


# -- attachments ----------------------------------------------------------------------------

PDF = base64.encodebytes(b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<<>>\n%%EOF\n")

WITH_ATTACHMENT = (
    eml("""
    From: Ann Lee <ann@example.com>
    To: sales@acme.example
    Subject: Photos and the HOA letter
    Message-ID: <attach-1@mail.example.com>
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="mixed-b"

    --mixed-b
    Content-Type: multipart/alternative; boundary="alt-b"

    --alt-b
    Content-Type: text/plain; charset="UTF-8"

    The HOA letter is attached.

    --alt-b
    Content-Type: text/html; charset="UTF-8"

    <p>The HOA letter is attached.</p>

    --alt-b--

    --mixed-b
    Content-Type: application/pdf; name="hoa-letter.pdf"
    Content-Disposition: attachment; filename="hoa-letter.pdf"
    Content-Transfer-Encoding: base64

""")
    + PDF.replace(b"\n", b"\r\n")
    + b"\r\n--mixed-b--\r\n"
)


def test_an_email_with_an_attachment_keeps_the_text_only(
    client: Client, channels: dict[str, Channel]
) -> None:
    assert parse_email(WITH_ATTACHMENT).attachments == 1
    message = received(client, channels["email"], WITH_ATTACHMENT)
    assert message.content == "The HOA letter is attached."
    assert message.subject == "Photos and the HOA letter"
    assert Message.objects.unscoped().count() == 1


# -- bounces --------------------------------------------------------------------------------


def dsn(
    original: str,
    *,
    sender: str = "Mail Delivery System <MAILER-DAEMON@mx.example.net>",
    action: str = "failed",
    status: str = "5.1.1",
) -> bytes:
    """A Postfix-style delivery status notification about the email with Message-ID
    <msg_sent1@acme.example>, its original given as a text/rfc822-headers or a
    message/rfc822 part."""
    return eml(
        f"From: {sender}\n"
        "To: sales@acme.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "Message-ID: <20261202171403.4B1C2@mx.example.net>\n"
        "Auto-Submitted: auto-replied\n"
        "MIME-Version: 1.0\n"
        "Content-Type: multipart/report; report-type=delivery-status;\n"
        '\tboundary="4B1C2.1764695643/mx.example.net"\n'
        "\n"
        "--4B1C2.1764695643/mx.example.net\n"
        "Content-Description: Notification\n"
        "Content-Type: text/plain; charset=us-ascii\n"
        "\n"
        "I'm sorry to have to inform you that your message could not\n"
        "be delivered to one or more recipients.\n"
        "\n"
        "--4B1C2.1764695643/mx.example.net\n"
        "Content-Description: Delivery report\n"
        "Content-Type: message/delivery-status\n"
        "\n"
        "Reporting-MTA: dns; mx.example.net\n"
        "Arrival-Date: Wed,  2 Dec 2026 17:14:01 +0000 (UTC)\n"
        "\n"
        "Final-Recipient: rfc822; nobody@example.com\n"
        "Original-Recipient: rfc822;nobody@example.com\n"
        f"Action: {action}\n"
        f"Status: {status}\n"
        "Remote-MTA: dns; mx.example.com\n"
        "Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.com>: Recipient address\n"
        "    rejected: User unknown in virtual mailbox table\n"
        "\n"
        "--4B1C2.1764695643/mx.example.net\n"
        f"{original}"
        "--4B1C2.1764695643/mx.example.net--\n"
    )


ORIGINAL_HEADERS = (
    "Content-Description: Undelivered Message Headers\n"
    "Content-Type: text/rfc822-headers\n"
    "\n"
    "From: Acme Roofing <sales@acme.example>\n"
    "To: nobody@example.com\n"
    "Subject: Your roof quote\n"
    "Message-ID: <msg_sent1@acme.example>\n"
    "\n"
)
ORIGINAL_MESSAGE = (
    "Content-Description: Undelivered Message\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: Acme Roofing <sales@acme.example>\n"
    "To: nobody@example.com\n"
    "Subject: Your roof quote\n"
    "Message-ID:\n"
    " <msg_sent1@acme.example>\n"
    "Content-Type: text/plain\n"
    "\n"
    "Can we come Tuesday?\n"
    "\n"
)
REASON = (
    "bounced: 5.1.1 smtp; 550 5.1.1 <nobody@example.com>: Recipient address rejected: "
    "User unknown in virtual mailbox table (nobody@example.com)"
)


@pytest.fixture
def draft(sent: Message) -> ResponseDraft:
    """The sent draft whose message is `sent`."""
    found: ResponseDraft = ResponseDraftFactory.create(
        conversation=sent.conversation,
        status=DraftStatus.SENT,
        sent_at=sent.sent_at,
        message_public_id=sent.public_id,
    )
    return found


@pytest.mark.parametrize(
    "raw",
    [
        dsn(ORIGINAL_HEADERS),
        dsn(ORIGINAL_MESSAGE),
        dsn(ORIGINAL_HEADERS, sender="MAILER-DAEMON (Mail Delivery System)"),
    ],
    ids=["rfc822-headers", "rfc822", "sender-without-address"],
)
def test_a_bounce_fails_the_draft_it_reports_on(
    client: Client, channels: dict[str, Channel], sent: Message, draft: ResponseDraft, raw: bytes
) -> None:
    assert post(client, channels["email"], raw).status_code == 202
    process()
    event = only_event()
    assert (event.status, event.message, event.last_error) == (EventStatus.PROCESSED, sent, None)
    draft.refresh_from_db()
    assert (draft.status, draft.delivery_status) == (DraftStatus.FAILED, "bounced")
    assert draft.failure_reason == REASON
    assert Message.objects.unscoped().filter(direction=Direction.RECEIVED).count() == 0
    assert Contact.objects.unscoped().filter(email__icontains="mailer-daemon").count() == 0


DELAYED = dsn(ORIGINAL_MESSAGE, action="delayed", status="4.4.7")
DELAY_REASON = REASON.replace("bounced: 5.1.1", "delayed: 4.4.7")


@pytest.mark.parametrize(
    ("raw", "bounce"),
    [
        (dsn(ORIGINAL_HEADERS), Bounce("<msg_sent1@acme.example>", REASON, failed=True)),
        (DELAYED, Bounce("<msg_sent1@acme.example>", DELAY_REASON, failed=False)),
    ],
    ids=["unknown-email", "delayed"],
)
def test_a_bounce_that_fails_no_sent_draft_is_ignored(
    client: Client, channels: dict[str, Channel], sent: Message, raw: bytes, bounce: Bounce
) -> None:
    """A failure about an email no draft sent, or a notice that is not a failure."""
    assert parse_email(raw).bounce == bounce
    draft = ResponseDraftFactory.create(
        conversation=sent.conversation, status=DraftStatus.SENT, sent_at=sent.sent_at
    )  # of another message
    assert post(client, channels["email"], raw).status_code == 202
    process()
    event = only_event()
    assert (event.status, event.message) == (EventStatus.IGNORED, None)
    draft.refresh_from_db()
    assert (draft.status, draft.delivery_status) == (DraftStatus.SENT, None)
    assert Message.objects.unscoped().filter(direction=Direction.RECEIVED).count() == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (
            dsn(ORIGINAL_HEADERS),
            f"a delivery status notification ({REASON}) about <msg_sent1@acme.example>, "
            "which no sent draft has",
        ),
        (
            DELAYED,
            f"a delivery status notification ({DELAY_REASON}) about "
            "<msg_sent1@acme.example>, not a failure",
        ),
    ],
    ids=["unknown-email", "delayed"],
)
def test_an_ignored_bounce_keeps_its_reason(
    client: Client, channels: dict[str, Channel], raw: bytes, reason: str
) -> None:
    post(client, channels["email"], raw)
    process()
    event = only_event()
    assert (event.status, event.last_error) == (EventStatus.IGNORED, reason)


# -- dedupe ---------------------------------------------------------------------------------

NO_MESSAGE_ID = eml("""
    From: Ann Lee <ann@example.com>
    To: sales@acme.example
    Subject: From my old phone
    Content-Type: text/plain

    Sent without a Message-ID.
""")


def test_an_email_without_a_message_id_is_deduped_by_its_bytes(
    client: Client, channels: dict[str, Channel]
) -> None:
    for _ in range(2):
        assert post(client, channels["email"], NO_MESSAGE_ID).status_code == 202
    other = NO_MESSAGE_ID.replace(b"without", b"WITHOUT")
    assert post(client, channels["email"], other).status_code == 202
    process()
    events = InboundEvent.objects.unscoped().order_by("pk")
    assert [e.provider_message_id for e in events] == [digest_id(NO_MESSAGE_ID), digest_id(other)]
    assert [e.status for e in events] == [EventStatus.PROCESSED] * 2
    contents = Message.objects.unscoped().order_by("pk").values_list("content", "email_message_id")
    assert list(contents) == [
        ("Sent without a Message-ID.", None),
        ("Sent WITHOUT a Message-ID.", None),
    ]


def test_an_overlong_message_id_is_deduped_by_the_bytes(
    client: Client, channels: dict[str, Channel]
) -> None:
    raw = NO_MESSAGE_ID.replace(
        b"Subject:", b"Message-ID: <" + b"x" * 1200 + b"@mail.example.com>\r\nSubject:"
    )
    message = received(client, channels["email"], raw)
    assert message.email_message_id is None
    assert only_event().provider_message_id == digest_id(raw)


# -- headers --------------------------------------------------------------------------------


def test_no_subject(client: Client, channels: dict[str, Channel]) -> None:
    raw = eml("""
        From: Ann Lee <ann@example.com>
        To: sales@acme.example
        Message-ID: <nosubject@mail.example.com>

        No subject line.
    """)
    message = received(client, channels["email"], raw)
    assert (message.subject, message.content) == (None, "No subject line.")


@pytest.mark.parametrize(
    "from_header", ["ann.lee@example.com", "<ann.lee@example.com>"], ids=["bare", "angle"]
)
def test_a_from_with_only_an_address(
    client: Client, channels: dict[str, Channel], from_header: str
) -> None:
    raw = eml(
        f"From: {from_header}\nTo: sales@acme.example\nSubject: Hi\nMessage-ID: <a@b.example>\n"
        "\nHello\n"
    )
    contact = received(client, channels["email"], raw).conversation.contact
    assert (contact.email, contact.name) == ("ann.lee@example.com", None)


def test_a_long_display_name_is_cut_to_what_a_contact_keeps(
    client: Client, channels: dict[str, Channel]
) -> None:
    raw = eml(
        f"From: {'Ann ' * 100}<ann@example.com>\nTo: sales@acme.example\nSubject: Hi\n"
        "Message-ID: <longname@b.example>\n\nHello\n"
    )
    contact = received(client, channels["email"], raw).conversation.contact
    assert contact.name == ("Ann " * 64).strip()[:255]
    assert contact.email == "ann@example.com"


@pytest.mark.parametrize(
    ("from_header", "reason"),
    [
        (
            "Ann Lee <ann at example.com>",
            "the From address is not valid: Ann Lee <ann at example.com>",
        ),
        ("ann@@example.com", "the From address is not valid: ann@@example.com"),
        ("Ann <ann@>", "the From address is not valid: Ann <ann@>"),
        ('"Ann <ann@example.com>', 'the From address is not valid: "Ann <ann@example.com>'),
        ("ann@exa mple.com", "the From address is not valid: ann@exa mple.com"),
        ("", "the message has no From address"),
        (
            "a" * 250 + "@example.com",
            "the From address is not valid: " + "a" * 250 + "@example.com",
        ),
    ],
    ids=["no-at", "two-ats", "no-domain", "open-quote", "space-in-domain", "empty", "too-long"],
)
def test_a_malformed_from_is_refused(
    client: Client, channels: dict[str, Channel], from_header: str, reason: str
) -> None:
    raw = eml(f"From: {from_header}\nTo: sales@acme.example\nSubject: Hi\n\nHello\n")
    assert refused(client, channels["email"], raw) == reason
    assert Contact.objects.unscoped().count() == 0


@pytest.mark.parametrize(
    "raw", [b"", b"\r\n\r\n", b"   \n"], ids=["empty", "blank-lines", "spaces"]
)
def test_an_empty_body_is_refused(client: Client, channels: dict[str, Channel], raw: bytes) -> None:
    # The test client leaves out the Content-Type of an empty body; a real client sends it.
    assert refused(client, channels["email"], raw, CONTENT_TYPE="message/rfc822") == (
        "the body is empty: send one raw RFC 5322 message"
    )


@pytest.mark.parametrize(
    "raw",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06",
        bytes(range(256)) * 4,
        b'{"from": "ann@example.com", "subject": "json, not an email"}',
        b"GET / HTTP/1.1\r\nHost: acme.example\r\n\r\n",
    ],
    ids=["png", "every-byte", "json", "http"],
)
def test_bytes_that_are_not_an_email_are_refused(
    client: Client, channels: dict[str, Channel], raw: bytes
) -> None:
    assert refused(client, channels["email"], raw) == (
        "the body is not an RFC 5322 message: it has no From, To or Subject"
    )


def test_nul_bytes_and_stray_surrogates_do_not_break_storing(
    client: Client, channels: dict[str, Channel]
) -> None:
    """A NUL (no PostgreSQL text column takes one) and text that decodes to lone
    surrogates (a charset such as unicode_escape) are not stored as they are."""
    raw = eml(
        "From: ann@example.com\nTo: sales@acme.example\nSubject: a\x00b\n"
        "Message-ID: <nul@mail.example.com>\nContent-Type: text/plain; charset=unicode_escape\n"
        "\nhello\x00world \\ud800!\n"
    )
    message = received(client, channels["email"], raw)
    assert (message.subject, message.content) == ("ab", "helloworld \ufffd!")
