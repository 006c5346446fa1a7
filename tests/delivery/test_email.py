"""Email delivery against a real SMTP server on loopback (aiosmtpd): what is sent, header by
header, and what each kind of refusal does to the draft."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.conversations.models import Direction, Message, Modality
from apps.drafts.models import DraftStatus, ResponseDraft
from apps.organizations.models import ChannelKind, Organization
from apps.organizations.services import channel_configure
from hyperrep.outbox.worker import Worker
from tests.delivery.peers import SMTPServer
from tests.factories import ContactFactory, ConversationFactory, MessageFactory
from tests.helpers import Api, free_port

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 12, 9, 0, tzinfo=UTC)
HTML = (
    '<p>Hi Ann,</p><p>Here is <a href="https://acme.example/quote?id=7&amp;v=2">your quote</a>.</p>'
)


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server


@pytest.fixture
def thread(organization: Organization, smtp: SMTPServer) -> Any:
    """A conversation of two emails, and the organization's email channel on `smtp`."""
    channel_configure(
        organization=organization,
        kind=ChannelKind.EMAIL,
        sender="Acme Roofing <sales@acme.example>",
        transport=smtp.url,
        reply_domain="reply.acme.example",
    )
    contact = ContactFactory.create(
        organization=organization, name="Ann Lee", email="ann@example.com"
    )
    conversation = ConversationFactory.create(
        organization=organization, contact=contact, start_at=T0
    )
    for minutes, direction, message_id in [
        (0, Direction.RECEIVED, "<first@mail.example.com>"),
        (5, Direction.SENT, "sent-1@acme.example"),
    ]:
        MessageFactory.create(
            conversation=conversation,
            modality=Modality.EMAIL,
            direction=direction,
            subject="Leaking gutter",
            email_message_id=message_id,
            sent_at=T0 + timedelta(minutes=minutes),
        )
    return conversation


def reply(api: Api, conversation: Any, **body: Any) -> ResponseDraft:
    path = f"/organizations/{conversation.organization.public_id}/conversations/"
    response = api.post(
        f"{path}{conversation.public_id}/response-drafts",
        {"body_html": HTML, "autosend_draft": True, **body},
    )
    assert response.status_code == 200, response.content
    return ResponseDraft.objects.unscoped().get(public_id=response.json()["response_id"])


def deliver() -> None:
    Worker().run(until_idle=True)


def due_now(draft: ResponseDraft) -> None:
    """Bring a retry forward (the backoff would wait minutes)."""
    ResponseDraft.objects.unscoped().filter(pk=draft.pk).update(next_attempt_at=timezone.now())


def test_a_reply_goes_out_with_every_header_and_part(
    api: Api, thread: Any, smtp: SMTPServer, settings: Any
) -> None:
    settings.PUBLIC_URL = "https://hyperrep.example.com"
    draft = reply(api, thread, cc_emails=["boss@example.com"], bcc_emails=["audit@acme.example"])
    deliver()

    [received] = smtp.handler.received
    email = received.message
    assert received.mail_from == "sales@acme.example"
    assert sorted(received.rcpt_tos) == [
        "ann@example.com",
        "audit@acme.example",
        "boss@example.com",
    ]
    assert email["From"] == "Acme Roofing <sales@acme.example>"
    assert email["To"] == "Ann Lee <ann@example.com>"
    assert email["Cc"] == "boss@example.com"
    assert email["Bcc"] is None  # in the envelope only
    assert email["Subject"] == "Re: Leaking gutter"
    assert email["In-Reply-To"] == "<sent-1@acme.example>"
    assert email["References"] == "<first@mail.example.com> <sent-1@acme.example>"
    thread.refresh_from_db()
    assert thread.reply_token
    assert email["Reply-To"] == f"reply+{thread.reply_token}@reply.acme.example"
    assert email["Message-ID"] == f"<{draft.message_public_id}@acme.example>"

    assert email.get_content_type() == "multipart/alternative"
    text, html = (part.get_content() for part in email.iter_parts())
    message = Message.objects.unscoped().get(public_id=draft.message_public_id)
    [link] = message.tracked_links.all()
    tracked = f"https://hyperrep.example.com/l/{link.public_id}"
    assert link.url == "https://acme.example/quote?id=7&v=2"
    assert html.strip() == HTML.replace("https://acme.example/quote?id=7&amp;v=2", tracked)
    assert text.replace("\r\n", "\n").strip() == f"Hi Ann,\n\nHere is [your quote]({tracked})."

    draft.refresh_from_db()
    assert (draft.status, draft.attempts, draft.failure_reason) == (DraftStatus.SENT, 1, None)
    assert message.direction == Direction.SENT
    assert message.email_message_id == email["Message-ID"]
    assert message.subject == "Re: Leaking gutter"
    assert message.cc_emails == ["boss@example.com"]
    assert message.bcc_emails == ["audit@acme.example"]
    assert message.drafted_at == draft.created_at


def test_a_4xx_is_retried_with_the_same_message_id(api: Api, thread: Any, smtp: SMTPServer) -> None:
    smtp.handler.data_replies = ["451 4.3.0 Try again later"]
    draft = reply(api, thread)
    deliver()
    draft.refresh_from_db()
    assert draft.status == DraftStatus.SCHEDULED
    assert draft.attempts == 1
    assert draft.last_error == "SMTP 451: 4.3.0 Try again later"
    assert draft.failure_reason is None  # it has not failed: it will be retried
    assert draft.next_attempt_at is not None
    assert draft.next_attempt_at > timezone.now()
    deliver()
    assert smtp.handler.received == []  # not due yet
    due_now(draft)
    deliver()
    [received] = smtp.handler.received
    assert received.message["Message-ID"] == f"<{draft.message_public_id}@acme.example>"
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SENT, 2)
    assert Message.objects.unscoped().filter(public_id=draft.message_public_id).count() == 1


def test_a_5xx_for_the_recipient_fails_the_draft(api: Api, thread: Any, smtp: SMTPServer) -> None:
    smtp.handler.refuse_rcpt = {"ann@example.com": "550 5.1.1 No such user"}
    draft = reply(api, thread)
    deliver()
    draft.refresh_from_db()
    assert draft.status == DraftStatus.FAILED
    assert draft.attempts == 1
    assert draft.failure_reason == "SMTP 550: recipients refused: 5.1.1 No such user"
    assert draft.next_attempt_at is None
    assert not Message.objects.unscoped().filter(public_id=draft.message_public_id).exists()
    items = (
        Api(api.key)
        .get(
            f"/organizations/{thread.organization.public_id}/conversations/{thread.public_id}/response-drafts"
        )
        .json()["data"]
    )
    assert (items[0]["status"], items[0]["attempts"], items[0]["failure_reason"]) == (
        "failed",
        1,
        "SMTP 550: recipients refused: 5.1.1 No such user",
    )


def test_a_refused_copy_alone_is_logged_and_the_email_delivered(
    api: Api, thread: Any, smtp: SMTPServer, caplog: Any
) -> None:
    smtp.handler.refuse_rcpt = {"boss@example.com": "550 5.1.1 No such user"}
    draft = reply(api, thread, cc_emails=["boss@example.com"])
    deliver()
    draft.refresh_from_db()
    assert draft.status == DraftStatus.SENT
    assert smtp.handler.received[0].rcpt_tos == ["ann@example.com"]
    assert "copy to boss@example.com refused" in caplog.text


def test_a_refused_connection_is_retried_and_the_last_attempt_fails(
    api: Api, organization: Organization, thread: Any, settings: Any
) -> None:
    settings.DELIVERY_MAX_ATTEMPTS = 2
    closed = free_port()  # nothing listens there
    channel_configure(
        organization=organization,
        kind=ChannelKind.EMAIL,
        transport=f"smtp://127.0.0.1:{closed}?security=none",
    )
    draft = reply(api, thread)
    deliver()
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SCHEDULED, 1)
    assert "ConnectionRefusedError" in (draft.last_error or "")
    due_now(draft)
    deliver()
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.FAILED, 2)
    assert "ConnectionRefusedError" in (draft.failure_reason or "")


def test_a_new_conversation_email_has_its_subject_and_no_thread(
    api: Api, organization: Organization, thread: Any, smtp: SMTPServer
) -> None:
    body = {
        "modality": "email",
        "subject": "Your roof quote",
        "body_html": "<p>Attached.</p>",
        "to_email": "new.lead@example.com",
        "to_user_name": "New Lead",
        "autosend_draft": True,
    }
    assert (
        api.post(f"/organizations/{organization.public_id}/message-drafts", body).status_code == 200
    )
    deliver()
    [received] = smtp.handler.received
    assert received.message["To"] == "New Lead <new.lead@example.com>"
    assert received.message["Subject"] == "Your roof quote"
    assert received.message["In-Reply-To"] is None
    assert received.message["References"] is None


def other_conversations(organization: Organization, count: int) -> list[Any]:
    conversations = []
    for number in range(count):
        address = f"lead{number}@example.com"
        contact = ContactFactory.create(organization=organization, email=address)
        conversation = ConversationFactory.create(organization=organization, contact=contact)
        MessageFactory.create(conversation=conversation, modality=Modality.EMAIL)
        conversations.append(conversation)
    return conversations


def test_a_batch_of_emails_shares_one_connection(
    api: Api, organization: Organization, thread: Any, smtp: SMTPServer
) -> None:
    drafts = [reply(api, c) for c in [thread, *other_conversations(organization, 2)]]
    deliver()
    assert sorted(r.rcpt_tos[0] for r in smtp.handler.received) == [
        "ann@example.com",
        "lead0@example.com",
        "lead1@example.com",
    ]
    assert smtp.handler.greetings == 1
    for draft in drafts:
        draft.refresh_from_db()
    assert {d.status for d in drafts} == {DraftStatus.SENT}


def test_after_a_refusal_the_next_email_of_the_batch_has_a_new_connection(
    api: Api, organization: Organization, thread: Any, smtp: SMTPServer
) -> None:
    smtp.handler.data_replies = ["421 4.3.2 Closing for maintenance"]
    first, second = (reply(api, c) for c in [thread, *other_conversations(organization, 1)])
    deliver()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.last_error) == (
        DraftStatus.SCHEDULED,
        "SMTP 421: 4.3.2 Closing for maintenance",
    )
    assert second.status == DraftStatus.SENT
    assert smtp.handler.greetings == 2


def test_the_request_id_goes_with_the_draft_into_its_attempts_log_lines(
    api: Api, thread: Any, smtp: SMTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    from hyperrep.logs import RequestIdLogFilter

    path = f"/organizations/{thread.organization.public_id}/conversations/{thread.public_id}"
    response = api.post(
        f"{path}/response-drafts",
        {"body_html": HTML, "autosend_draft": True},
        HTTP_X_REQUEST_ID="req-7f3a",
    )
    draft = ResponseDraft.objects.unscoped().get(public_id=response.json()["response_id"])
    assert draft.request_id == "req-7f3a"
    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level("INFO", logger="hyperrep.outbox"):
        deliver()
    attempts = [r for r in caplog.records if "attempt 1 succeeded" in r.getMessage()]
    assert [r.request_id for r in attempts] == ["req-7f3a"]  # type: ignore[attr-defined]
