import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, connections, transaction

from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.drafts.models import (
    Draft,
    DraftModality,
    DraftStatus,
    IllegalTransition,
    MessageDraft,
    ResponseDraft,
)
from apps.drafts.services import (
    Delivery,
    draft_schedule,
    drafts_record_delivery,
    drafts_record_failure,
    folder_slug,
    message_draft_create,
    response_draft_create,
)
from apps.organizations.models import Organization
from tests.factories import (
    ChannelFactory,
    ConversationFactory,
    MessageDraftFactory,
    MessageFactory,
    OrganizationFactory,
    ResponseDraftFactory,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 1, 9, tzinfo=UTC)


def delivered(draft: Draft, **delivery: Any) -> Message:
    [message] = drafts_record_delivery([(draft, Delivery(**delivery))])
    return message


# -- the state machine ---------------------------------------------------------------------

ALL_MOVES = [(source, target) for source in DraftStatus.values for target in DraftStatus.values]
LEGAL = {
    ("pending", "scheduled"),
    ("pending", "superseded"),
    ("scheduled", "sent"),
    ("scheduled", "failed"),
    ("failed", "scheduled"),
    ("sent", "failed"),  # the provider reported it undelivered
}


@pytest.mark.parametrize(("source", "target"), ALL_MOVES)
def test_state_machine(source: str, target: str) -> None:
    draft = ResponseDraft(status=source, updated_at=T0)
    if (source, target) in LEGAL:
        draft.move_to(target)
        assert draft.status == target
        assert draft.updated_at > T0
    else:
        with pytest.raises(IllegalTransition, match=f"{source} -> {target}"):
            draft.move_to(target)
        assert draft.status == source
        assert draft.updated_at == T0


def test_the_database_allows_one_pending_response_draft_per_conversation() -> None:
    draft = ResponseDraftFactory.create()
    ResponseDraftFactory.create(conversation=draft.conversation, status=DraftStatus.SUPERSEDED)
    ResponseDraftFactory.create(conversation=ConversationFactory.create())  # another one's
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponseDraftFactory.create(conversation=draft.conversation)


# -- folders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Inbox", "inbox"),
        ("Sales Follow-up", "sales-follow-up"),
        ("sales-follow-up", "sales-follow-up"),
        ("Q3 / Q4 -- Renewals", "q3-q4-renewals"),
        ("Ünïcödé Leads", "unicode-leads"),
        ("日本", ""),
        ("---", ""),
        ("x" * 150, "x" * 100),
    ],
)
def test_folder_slug(name: str, slug: str) -> None:
    assert folder_slug(name) == slug


# -- creating ------------------------------------------------------------------------------


def test_message_draft_is_one_transaction(monkeypatch: pytest.MonkeyPatch) -> None:
    organization = OrganizationFactory.create()
    ChannelFactory.create(organization=organization, kind=DraftModality.EMAIL)

    def fail(**kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(MessageDraft.objects, "create", fail)
    with pytest.raises(RuntimeError):
        message_draft_create(
            organization=organization, modality="email", subject="Hi", to_email="a@example.com"
        )
    assert not Contact.objects.unscoped().exists()
    assert not Conversation.objects.unscoped().exists()


def test_response_draft_keeps_the_pending_one_when_it_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pending = ResponseDraftFactory.create()
    ChannelFactory.create(organization=pending.organization, kind=DraftModality.EMAIL)

    def fail(**kwargs: Any) -> None:
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(ResponseDraft.objects, "create", fail)
    with pytest.raises(RuntimeError):
        response_draft_create(
            organization=pending.organization, conversation=pending.conversation, body_html="v2"
        )
    pending.refresh_from_db()
    assert pending.status == DraftStatus.PENDING


# -- delivery ------------------------------------------------------------------------------


def scheduled(draft: Draft, at: datetime = T0) -> Draft:
    draft_schedule(draft, send_at=at)
    return draft


def test_schedule_approves_a_pending_draft() -> None:
    draft = ResponseDraftFactory.create()
    draft_schedule(draft, send_at=T0)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.SCHEDULED
    assert draft.scheduled_to_send is True
    assert draft.scheduled_send_at == T0


def test_delivery_of_a_message_draft_becomes_a_sent_message() -> None:
    conversation = ConversationFactory.create(start_at=T0 - timedelta(days=1))
    draft = MessageDraftFactory.create(
        conversation=conversation,
        created_at=T0 - timedelta(hours=1),
        cc_emails=["cc@example.com"],
        bcc_emails=["bcc@example.com"],
    )
    scheduled(draft)
    message = delivered(
        draft,
        sent_at=T0,
        subject="Your quote",
        email_message_id="<1@mail.example.com>",
        tracked_links=[("lnk_one", "https://acme.example/quote")],
    )

    assert draft.status == DraftStatus.SENT
    assert draft.sent_at == T0
    draft.refresh_from_db()
    assert draft.status == DraftStatus.SENT
    assert draft.sent_at == T0
    stored = Message.objects.unscoped().get()
    assert stored == message
    assert stored.public_id == draft.message_public_id  # the id its Message-ID carried
    links = stored.tracked_links.all()
    assert [(link.public_id, link.url) for link in links] == [
        ("lnk_one", "https://acme.example/quote")
    ]
    assert {link.organization_id for link in links} == {conversation.organization_id}
    assert stored.organization == conversation.organization
    assert stored.conversation == conversation
    assert stored.agent is None
    assert stored.direction == Direction.SENT
    assert stored.modality == Modality.EMAIL
    assert stored.subject == "Your quote"
    assert stored.content == "<p>Here is your quote.</p>"
    assert stored.sent_at == T0
    assert stored.drafted_at == T0 - timedelta(hours=1)
    assert stored.email_message_id == "<1@mail.example.com>"
    assert stored.cc_emails == ["cc@example.com"]
    assert stored.bcc_emails == ["bcc@example.com"]
    conversation.refresh_from_db()
    assert conversation.last_activity_at == T0


def test_delivery_of_a_text_reply() -> None:
    conversation = ConversationFactory.create(start_at=T0 - timedelta(days=1))
    later = MessageFactory.create(conversation=conversation, sent_at=T0 + timedelta(hours=1))
    draft = ResponseDraftFactory.create(
        conversation=conversation, modality=DraftModality.TEXT, cc_emails=["cc@example.com"]
    )
    message = delivered(scheduled(draft), sent_at=T0, email_message_id="ignored")
    assert message.modality == Modality.TEXT
    assert message.subject is None
    assert message.content == draft.body_html
    assert message.cc_emails == []
    assert message.email_message_id is None
    assert message.drafted_at == draft.created_at
    conversation.refresh_from_db()
    assert conversation.last_activity_at == later.sent_at  # the latest message still wins


@pytest.mark.parametrize("status", ["pending", "sent", "failed", "superseded"])
def test_only_scheduled_drafts_are_delivered(status: str) -> None:
    draft = ResponseDraftFactory.create(status=status)
    with pytest.raises(IllegalTransition):
        delivered(draft, sent_at=T0)
    assert not Message.objects.unscoped().exists()
    draft.refresh_from_db()
    assert draft.status == status


def test_failure_and_retry() -> None:
    draft = scheduled(ResponseDraftFactory.create())
    drafts_record_failure([draft])
    assert draft.status == DraftStatus.FAILED
    draft.refresh_from_db()
    assert draft.status == DraftStatus.FAILED
    assert not Message.objects.unscoped().exists()
    with pytest.raises(IllegalTransition):
        drafts_record_failure([draft])
    scheduled(draft, T0 + timedelta(minutes=5))
    assert draft.scheduled_send_at == T0 + timedelta(minutes=5)
    delivered(draft, sent_at=T0 + timedelta(minutes=5))
    assert draft.status == DraftStatus.SENT


@pytest.mark.parametrize("status", ["pending", "sent", "superseded"])
def test_only_scheduled_drafts_fail(status: str) -> None:
    draft = ResponseDraftFactory.create(status=status)
    with pytest.raises(IllegalTransition):
        drafts_record_failure([draft])


# -- concurrency ---------------------------------------------------------------------------

CONCURRENT_REQUESTS = 8


@pytest.mark.django_db(transaction=True)
def test_concurrent_response_drafts_leave_one_pending(
    make_key: Any, organization: Organization
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "needs PostgreSQL: the test database of SQLite is in memory, shared between threads "
            "through one cache whose table locks fail at once instead of waiting; file SQLite "
            "serializes writers with IMMEDIATE transactions"
        )
    ChannelFactory.create(organization=organization, kind=DraftModality.EMAIL)
    conversation = ConversationFactory.create(organization=organization)
    ResponseDraftFactory.create(conversation=conversation, body_html="old")
    key = make_key(organization)
    path = f"/organizations/{organization.public_id}/conversations/{conversation.public_id}"
    start = threading.Barrier(CONCURRENT_REQUESTS)
    statuses: list[int] = []

    def post(number: int) -> None:
        try:
            api = Api(key)
            start.wait()
            response = api.post(f"{path}/response-drafts", {"body_html": f"v{number}"})
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(CONCURRENT_REQUESTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * CONCURRENT_REQUESTS
    drafts = ResponseDraft.objects.unscoped().filter(conversation=conversation)
    assert drafts.count() == CONCURRENT_REQUESTS + 1
    assert drafts.filter(status=DraftStatus.PENDING).count() == 1
    assert drafts.filter(status=DraftStatus.SUPERSEDED).count() == CONCURRENT_REQUESTS
