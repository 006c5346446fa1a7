from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Modality
from apps.drafts.models import DraftStatus, MessageDraft, ResponseDraft
from apps.organizations.models import ChannelKind, Organization
from tests.factories import (
    ChannelFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    ResponseDraftFactory,
)
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

NOT_BOTH = "autosend_draft and add_notification cannot both be true"
EMAIL_BODY = {"modality": "email", "to_email": "ann@example.com", "subject": "Your quote"}
TEXT_BODY = {"modality": "text", "to_phone_number": "+15550001", "body_html": "Hi Ann"}


@pytest.fixture
def channels(organization: Organization) -> None:
    ChannelFactory.create(organization=organization, kind=ChannelKind.EMAIL)
    ChannelFactory.create(organization=organization, kind=ChannelKind.TEXT)


# -- message drafts ------------------------------------------------------------------------


def test_message_draft_shape(api: Api, org_path: str, organization: Any, channels: None) -> None:
    response = api.post(f"{org_path}/message-drafts", {**EMAIL_BODY, "body_html": "<p>Hi</p>"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"draft_id", "scheduled_to_send", "scheduled_send_at", "folder"}
    assert body["draft_id"].startswith("mdr_")
    assert len(body["draft_id"]) == 26
    assert body["scheduled_to_send"] is False
    assert body["scheduled_send_at"] is None
    assert body["folder"] == "inbox"
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    assert draft.organization == organization
    assert draft.status == DraftStatus.PENDING
    assert draft.folder == "Inbox"
    assert draft.subject == "Your quote"
    assert draft.body_html == "<p>Hi</p>"


def test_older_spelling_renders_the_same_draft_with_older_names(
    api: Api, org_path: str, channels: None
) -> None:
    response = api.post(
        f"{org_path}/messages-drafts", {**EMAIL_BODY, "autosend_draft": True, "folder": "Leads"}
    )
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"draft_id", "queued_to_send", "send_at", "folder"}
    assert body["queued_to_send"] is True
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    assert draft.scheduled_send_at is not None
    assert body["send_at"] == draft.scheduled_send_at.isoformat().replace("+00:00", "Z")
    assert body["folder"] == "leads"


@pytest.mark.parametrize("path", ["message-drafts", "messages-drafts/"])
def test_both_spellings_take_a_trailing_slash(
    api: Api, org_path: str, channels: None, path: str
) -> None:
    assert api.post(f"{org_path}/{path}", EMAIL_BODY).status_code == 200


def test_autosend_schedules_now(api: Api, org_path: str, channels: None) -> None:
    before = timezone.now()
    body = api.post(f"{org_path}/message-drafts", {**EMAIL_BODY, "autosend_draft": True}).json()
    assert body["scheduled_to_send"] is True
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    assert draft.status == DraftStatus.SCHEDULED
    assert draft.scheduled_send_at is not None
    assert before <= draft.scheduled_send_at <= timezone.now()
    assert draft.scheduled_send_at == draft.created_at


def test_add_notification_alone_is_stored(api: Api, org_path: str, channels: None) -> None:
    body = api.post(f"{org_path}/message-drafts", {**EMAIL_BODY, "add_notification": True}).json()
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    assert draft.add_notification is True
    assert draft.status == DraftStatus.PENDING


def test_message_draft_starts_a_conversation(
    api: Api, org_path: str, organization: Any, channels: None
) -> None:
    body = api.post(
        f"{org_path}/message-drafts",
        {**EMAIL_BODY, "to_user_name": "Ann Lee", "folder": "Sales Follow-up"},
    ).json()
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    conversation = draft.conversation
    assert conversation.organization == organization
    assert conversation.folder == "sales-follow-up"
    assert body["folder"] == "sales-follow-up"
    assert draft.folder == "Sales Follow-up"
    assert conversation.is_read is True
    assert conversation.agent is None
    assert conversation.start_at == conversation.last_activity_at == draft.created_at
    assert conversation.contact == draft.contact
    shown = api.get(f"{org_path}/conversations/{conversation.public_id}").json()
    assert shown["contact_id"] == draft.contact.public_id


@pytest.mark.parametrize(
    ("folder", "slug"),
    [
        ("Sales Follow-up", "sales-follow-up"),
        ("  --Hot   leads!! 2026 ", "hot-leads-2026"),
        ("Café_Clients", "cafe-clients"),
        ("INBOX", "inbox"),
        ("a" * 255, "a" * 100),
        ("a" * 99 + " b", "a" * 99),
    ],
)
def test_folder_is_slugged(api: Api, org_path: str, channels: None, folder: str, slug: str) -> None:
    body = api.post(f"{org_path}/message-drafts", {**EMAIL_BODY, "folder": folder}).json()
    assert body["folder"] == slug
    assert Conversation.objects.unscoped().get().folder == slug


def test_contact_found_by_email_case_insensitively(
    api: Api, org_path: str, organization: Any, other_organization: Any, channels: None
) -> None:
    ContactFactory.create(organization=other_organization, email="ann@example.com")
    oldest = ContactFactory.create(
        organization=organization,
        email="Ann@Example.COM",
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )
    ContactFactory.create(organization=organization, email="ann@example.com")
    body = api.post(f"{org_path}/message-drafts", {**EMAIL_BODY, "to_user_name": "New"}).json()
    assert MessageDraft.objects.unscoped().get(public_id=body["draft_id"]).contact == oldest
    assert Contact.objects.unscoped().count() == 3
    oldest.refresh_from_db()
    assert oldest.name != "New"  # an existing contact is not rewritten by a draft


def test_contact_found_by_phone(api: Api, org_path: str, organization: Any, channels: None) -> None:
    ContactFactory.create(organization=organization, phone_number="+15550002")
    contact = ContactFactory.create(organization=organization, phone_number="+15550001")
    body = api.post(f"{org_path}/message-drafts", TEXT_BODY).json()
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    assert draft.contact == contact
    assert draft.modality == ChannelKind.TEXT
    assert draft.to_phone_number == "+15550001"


def test_contact_created_when_none_matches(
    api: Api, org_path: str, organization: Any, other_organization: Any, channels: None
) -> None:
    ContactFactory.create(organization=other_organization, email="ann@example.com")
    body = api.post(
        f"{org_path}/message-drafts",
        {**EMAIL_BODY, "to_user_name": "Ann Lee", "to_phone_number": "+15550001"},
    ).json()
    contact = MessageDraft.objects.unscoped().get(public_id=body["draft_id"]).contact
    assert contact.organization == organization
    assert contact.public_id.startswith("ctc_")
    assert (contact.name, contact.email, contact.phone_number) == (
        "Ann Lee",
        "ann@example.com",
        "+15550001",
    )


def test_cc_and_bcc_are_kept(api: Api, org_path: str, channels: None) -> None:
    body = api.post(
        f"{org_path}/message-drafts",
        {**EMAIL_BODY, "cc_emails": ["a@example.com"], "bcc_emails": ["b@example.com"] * 50},
    ).json()
    draft = MessageDraft.objects.unscoped().get(public_id=body["draft_id"])
    assert draft.cc_emails == ["a@example.com"]
    assert draft.bcc_emails == ["b@example.com"] * 50


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "modality: This field is required."),
        ({**EMAIL_BODY, "modality": "call"}, 'modality: "call" is not a valid choice.'),
        ({**EMAIL_BODY, "modality": None}, "modality: This field may not be null."),
        (
            {"modality": "email", "to_email": "a@example.com"},
            "At least one of subject and body_html must not be blank.",
        ),
        (
            {"modality": "email", "to_email": "a@example.com", "subject": " ", "body_html": "\n"},
            "At least one of subject and body_html must not be blank.",
        ),
        ({"modality": "email", "subject": "Hi"}, "to_email: This field is required."),
        (
            {"modality": "email", "subject": "Hi", "to_email": ""},
            "to_email: This field is required.",
        ),
        (
            {"modality": "email", "subject": "Hi", "to_email": None},
            "to_email: This field is required.",
        ),
        (
            {"modality": "email", "subject": "Hi", "to_phone_number": "+15550001"},
            "to_email: This field is required.",
        ),
        ({**EMAIL_BODY, "to_email": "not-an-email"}, "to_email: Enter a valid email address."),
        ({"modality": "text", "body_html": "Hi"}, "to_phone_number: This field is required."),
        (
            {"modality": "text", "body_html": "Hi", "to_email": "a@example.com"},
            "to_phone_number: This field is required.",
        ),
        (
            {**TEXT_BODY, "to_phone_number": "call me"},
            "to_phone_number: Enter a valid phone number.",
        ),
        ({**EMAIL_BODY, "cc_emails": ["nope"]}, "cc_emails.0: Enter a valid email address."),
        ({**EMAIL_BODY, "bcc_emails": "a@example.com"}, "bcc_emails: Expected a list of items"),
        (
            {**EMAIL_BODY, "cc_emails": ["a@example.com"] * 51},
            "cc_emails: Ensure this field has no more than 50 elements.",
        ),
        (
            {**EMAIL_BODY, "bcc_emails": ["a@example.com"] * 51},
            "bcc_emails: Ensure this field has no more than 50 elements.",
        ),
        ({**EMAIL_BODY, "autosend_draft": "true"}, "autosend_draft: Must be a valid boolean."),
        ({**EMAIL_BODY, "add_notification": 1}, "add_notification: Must be a valid boolean."),
        ({**EMAIL_BODY, "folder": "!!!"}, "folder: Must contain at least one letter or digit."),
        ({**EMAIL_BODY, "folder": ""}, "folder: This field may not be blank."),
        ({**EMAIL_BODY, "subject": 5}, "subject: Not a valid string."),
        ({**EMAIL_BODY, "organization_id": "org_x"}, "organization_id: Unknown field."),
        ({**EMAIL_BODY, "status": "sent"}, "status: Unknown field."),
        (
            {"modality": "email", "cc_emails": ["x"], "extra": 1},
            "cc_emails.0: Enter a valid email address.; extra: Unknown field.",
        ),
    ],
)
def test_message_draft_validation(
    api: Api, org_path: str, channels: None, body: Any, message: str
) -> None:
    response = api.post(f"{org_path}/message-drafts", body)
    assert response.status_code == 422
    assert detail(response).startswith(message)
    assert not MessageDraft.objects.unscoped().exists()
    assert not Conversation.objects.unscoped().exists()


def test_validation_comes_before_business_rules(api: Api, org_path: str) -> None:
    response = api.post(
        f"{org_path}/message-drafts",
        {"modality": "email", "subject": "Hi", "autosend_draft": True, "add_notification": True},
    )
    assert response.status_code == 422
    assert detail(response) == "to_email: This field is required."


@pytest.mark.parametrize("path", ["message-drafts", "messages-drafts"])
def test_autosend_and_notification_are_exclusive(
    api: Api, org_path: str, channels: None, path: str
) -> None:
    response = api.post(
        f"{org_path}/{path}", {**EMAIL_BODY, "autosend_draft": True, "add_notification": True}
    )
    assert response.status_code == 400
    assert detail(response) == NOT_BOTH
    assert not MessageDraft.objects.unscoped().exists()
    assert not Contact.objects.unscoped().exists()


def test_exclusivity_is_checked_before_the_channel(api: Api, org_path: str) -> None:
    response = api.post(
        f"{org_path}/message-drafts",
        {**EMAIL_BODY, "autosend_draft": True, "add_notification": True},
    )
    assert response.status_code == 400
    assert detail(response) == NOT_BOTH


@pytest.mark.parametrize(("body", "kind"), [(EMAIL_BODY, "email"), (TEXT_BODY, "text")])
@pytest.mark.parametrize("state", ["absent", "disabled", "other organization"])
def test_modality_must_be_configured(
    api: Api,
    org_path: str,
    organization: Any,
    other_organization: Any,
    body: dict,
    kind: str,
    state: str,
) -> None:
    other_kind = ChannelKind.TEXT if kind == "email" else ChannelKind.EMAIL
    ChannelFactory.create(organization=organization, kind=other_kind)
    if state == "disabled":
        ChannelFactory.create(organization=organization, kind=kind, enabled=False)
    elif state == "other organization":
        ChannelFactory.create(organization=other_organization, kind=kind)
    response = api.post(f"{org_path}/message-drafts", body)
    assert response.status_code == 400
    assert detail(response) == f"{kind} is not configured for this organization"
    assert not MessageDraft.objects.unscoped().exists()
    assert not Contact.objects.unscoped().exists()
    assert not Conversation.objects.unscoped().exists()


@pytest.mark.parametrize(
    "path", ["message-drafts", "messages-drafts", "conversations/{id}/response-drafts"]
)
def test_read_only_key_cannot_write_drafts(
    make_key: Any, org_path: str, organization: Any, channels: None, path: str
) -> None:
    conversation = ConversationFactory.create(organization=organization)
    api = Api(make_key(organization, read_only=True))
    body = {"body_html": "Hi"} if "response" in path else EMAIL_BODY
    response = api.post(f"{org_path}/{path.format(id=conversation.public_id)}", body)
    assert response.status_code == 403
    assert detail(response) == "API Key does not have write access"
    assert not MessageDraft.objects.unscoped().exists()
    assert not ResponseDraft.objects.unscoped().exists()


def test_message_drafts_are_not_listed(api: Api, org_path: str) -> None:
    response = api.get(f"{org_path}/message-drafts")
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


# -- response drafts -----------------------------------------------------------------------


@pytest.fixture
def conversation(organization: Any) -> Conversation:
    return ConversationFactory.create(organization=organization)


def drafts_path(org_path: str, conversation: Conversation) -> str:
    return f"{org_path}/conversations/{conversation.public_id}/response-drafts"


def test_response_draft_shape(
    api: Api, org_path: str, conversation: Conversation, channels: None
) -> None:
    response = api.post(drafts_path(org_path, conversation), {"body_html": "<p>Tuesday?</p>"})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"response_id", "conversation_id", "scheduled_to_send", "scheduled_send_at"}
    assert body["response_id"].startswith("rdr_")
    assert body["conversation_id"] == conversation.public_id
    assert body["scheduled_to_send"] is False
    assert body["scheduled_send_at"] is None
    draft = ResponseDraft.objects.unscoped().get(public_id=body["response_id"])
    assert draft.status == DraftStatus.PENDING
    assert draft.organization == conversation.organization
    assert draft.body_html == "<p>Tuesday?</p>"


def test_response_draft_autosend(
    api: Api, org_path: str, conversation: Conversation, channels: None
) -> None:
    body = api.post(
        drafts_path(org_path, conversation),
        {"body_html": "Hi", "autosend_draft": True, "cc_emails": ["a@example.com"]},
    ).json()
    assert body["scheduled_to_send"] is True
    draft = ResponseDraft.objects.unscoped().get(public_id=body["response_id"])
    assert draft.status == DraftStatus.SCHEDULED
    assert draft.scheduled_send_at is not None
    assert body["scheduled_send_at"] == draft.scheduled_send_at.isoformat().replace("+00:00", "Z")
    assert draft.cc_emails == ["a@example.com"]


def test_a_new_response_draft_supersedes_the_pending_one(
    api: Api, org_path: str, conversation: Conversation, channels: None
) -> None:
    first = api.post(drafts_path(org_path, conversation), {"body_html": "v1"}).json()
    second = api.post(drafts_path(org_path, conversation), {"body_html": "v2"}).json()
    third = api.post(
        drafts_path(org_path, conversation), {"body_html": "v3", "autosend_draft": True}
    ).json()
    assert len({first["response_id"], second["response_id"], third["response_id"]}) == 3
    statuses = dict(ResponseDraft.objects.unscoped().values_list("body_html", "status"))
    assert statuses == {
        "v1": DraftStatus.SUPERSEDED,
        "v2": DraftStatus.SUPERSEDED,
        "v3": DraftStatus.SCHEDULED,
    }
    history = api.get(drafts_path(org_path, conversation)).json()["data"]
    assert [item["response_id"] for item in history] == [
        third["response_id"],
        second["response_id"],
        first["response_id"],
    ]


def test_other_conversations_drafts_are_left_alone(
    api: Api, org_path: str, organization: Any, conversation: Conversation, channels: None
) -> None:
    elsewhere = ResponseDraftFactory.create(
        conversation=ConversationFactory.create(organization=organization)
    )
    api.post(drafts_path(org_path, conversation), {"body_html": "Hi"})
    elsewhere.refresh_from_db()
    assert elsewhere.status == DraftStatus.PENDING


@pytest.mark.parametrize(
    ("messages", "contact", "modality"),
    [
        ([Modality.EMAIL, Modality.TEXT, Modality.CALL], {}, "text"),
        ([Modality.TEXT, Modality.EMAIL, Modality.FORM], {}, "email"),
        ([Modality.CALL], {"email": "a@example.com"}, "email"),
        ([], {"email": None, "phone_number": "+15550001"}, "text"),
        ([Modality.LIVE_CHAT], {"email": "", "phone_number": "+15550001"}, "text"),
    ],
)
def test_response_draft_goes_out_over_the_conversations_channel(
    api: Api,
    org_path: str,
    organization: Any,
    channels: None,
    messages: list[str],
    contact: dict,
    modality: str,
) -> None:
    conversation = ConversationFactory.create(
        organization=organization,
        contact=ContactFactory.create(organization=organization, **contact),
        start_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    for minutes, message_modality in enumerate(messages):
        MessageFactory.create(
            conversation=conversation,
            modality=message_modality,
            sent_at=conversation.start_at + timedelta(minutes=minutes),
        )
    body = api.post(drafts_path(org_path, conversation), {"body_html": "Hi"}).json()
    assert ResponseDraft.objects.unscoped().get(public_id=body["response_id"]).modality == modality


@pytest.mark.parametrize("kind", ["email", "text"])
def test_response_channel_must_be_configured(
    api: Api, org_path: str, organization: Any, kind: str
) -> None:
    contact = {"email": None} if kind == "text" else {}
    conversation = ConversationFactory.create(
        organization=organization,
        contact=ContactFactory.create(organization=organization, **contact),
    )
    other_kind = ChannelKind.TEXT if kind == "email" else ChannelKind.EMAIL
    ChannelFactory.create(organization=organization, kind=other_kind)
    ChannelFactory.create(organization=organization, kind=kind, enabled=False)
    response = api.post(drafts_path(org_path, conversation), {"body_html": "Hi"})
    assert response.status_code == 400
    assert detail(response) == f"{kind} is not configured for this organization"
    assert not ResponseDraft.objects.unscoped().exists()


def test_conversation_without_any_reply_channel(
    api: Api, org_path: str, organization: Any, channels: None
) -> None:
    conversation = ConversationFactory.create(
        organization=organization,
        contact=ContactFactory.create(organization=organization, email=None, phone_number=None),
    )
    MessageFactory.create(conversation=conversation, modality=Modality.CALL)
    response = api.post(drafts_path(org_path, conversation), {"body_html": "Hi"})
    assert response.status_code == 400
    assert detail(response).startswith("Conversation has no email or text channel to reply on")
    assert not ResponseDraft.objects.unscoped().exists()


def test_response_draft_exclusivity(
    api: Api, org_path: str, conversation: Conversation, channels: None
) -> None:
    pending = ResponseDraftFactory.create(conversation=conversation)
    response = api.post(
        drafts_path(org_path, conversation),
        {"body_html": "Hi", "autosend_draft": True, "add_notification": True},
    )
    assert response.status_code == 400
    assert detail(response) == NOT_BOTH
    pending.refresh_from_db()
    assert pending.status == DraftStatus.PENDING
    assert ResponseDraft.objects.unscoped().count() == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "body_html: This field is required."),
        ({"body_html": None}, "body_html: This field may not be null."),
        ({"body_html": ""}, "body_html: This field may not be blank."),
        ({"body_html": "  \n "}, "body_html: This field may not be blank."),
        ({"body_html": 3}, "body_html: Not a valid string."),
        ({"body_html": "Hi", "cc_emails": ["x@"]}, "cc_emails.0: Enter a valid email address."),
        (
            {"body_html": "Hi", "bcc_emails": ["a@example.com"] * 51},
            "bcc_emails: Ensure this field has no more than 50 elements.",
        ),
        (
            {"body_html": "Hi", "autosend_draft": None},
            "autosend_draft: This field may not be null.",
        ),
        ({"body_html": "Hi", "subject": "Re: quote"}, "subject: Unknown field."),
        ({"body_html": "Hi", "conversation_id": "cnv_x"}, "conversation_id: Unknown field."),
    ],
)
def test_response_draft_validation(
    api: Api, org_path: str, conversation: Conversation, channels: None, body: Any, message: str
) -> None:
    response = api.post(drafts_path(org_path, conversation), body)
    assert response.status_code == 422
    assert detail(response) == message
    assert not ResponseDraft.objects.unscoped().exists()


def test_response_draft_conversation_errors(api: Api, org_path: str, channels: None) -> None:
    response = api.post(
        f"{org_path}/conversations/cnv_3hG5kq2mN8pQ4rS6tU7vW9/response-drafts", {"body_html": "x"}
    )
    assert response.status_code == 404
    assert detail(response) == "Conversation not found"
    for method in (api.get, api.post):
        response = method(f"{org_path}/conversations/ctc_3hG5kq2mN8pQ4rS6tU7vW9/response-drafts")
        assert response.status_code == 400
        assert detail(response) == "Invalid conversation_id"


def test_another_organizations_conversation_is_404_before_the_body_is_read(
    api: Api, org_path: str, other_organization: Any, channels: None
) -> None:
    foreign = ConversationFactory.create(organization=other_organization)
    response = api.post(drafts_path(org_path, foreign), {"nonsense": True})
    assert response.status_code == 404
    assert detail(response) == "Conversation not found"
    assert not ResponseDraft.objects.unscoped().exists()


def test_response_draft_history_shape(api: Api, org_path: str, conversation: Conversation) -> None:
    draft = ResponseDraftFactory.create(
        conversation=conversation,
        body_html="<p>Sent</p>",
        cc_emails=["a@example.com"],
        status=DraftStatus.SENT,
        scheduled_to_send=True,
        scheduled_send_at=datetime(2026, 3, 12, 0, 32, 13, 782565, tzinfo=UTC),
        sent_at=datetime(2026, 3, 12, 0, 33, tzinfo=UTC),
        created_at=datetime(2026, 3, 12, tzinfo=UTC),
        updated_at=datetime(2026, 3, 12, 0, 33, tzinfo=UTC),
    )
    body = api.get(drafts_path(org_path, conversation)).json()
    assert body["data"] == [
        {
            "response_id": draft.public_id,
            "conversation_id": conversation.public_id,
            "modality": "email",
            "body_html": "<p>Sent</p>",
            "cc_emails": ["a@example.com"],
            "bcc_emails": [],
            "status": "sent",
            "scheduled_to_send": True,
            "scheduled_send_at": "2026-03-12T00:32:13.782565Z",
            "sent_at": "2026-03-12T00:33:00Z",
            "created_at": "2026-03-12T00:00:00Z",
            "updated_at": "2026-03-12T00:33:00Z",
            "attempts": 0,
            "failure_reason": None,
        }
    ]
    assert body["pagination"] == {
        "limit": 50,
        "cursor": None,
        "next_cursor": None,
        "has_more": False,
    }


def test_response_draft_history_pages_newest_first_with_dates(
    api: Api, org_path: str, organization: Any, conversation: Conversation
) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    drafts = [
        ResponseDraftFactory.create(
            conversation=conversation,
            status=DraftStatus.SUPERSEDED,
            created_at=start + timedelta(days=day // 2),  # pairs of equal timestamps
        )
        for day in range(6)
    ]
    ResponseDraftFactory.create(
        conversation=ConversationFactory.create(organization=organization), created_at=start
    )
    newest_first = [d.public_id for d in sorted(drafts, key=lambda d: (d.created_at, d.id))][::-1]
    path = drafts_path(org_path, conversation)

    seen, cursor = [], None
    while True:
        params = {"limit": "4", **({"cursor": cursor} if cursor else {})}
        page = api.get(path, params).json()
        seen += [item["response_id"] for item in page["data"]]
        cursor = page["pagination"]["next_cursor"]
        assert page["pagination"]["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert seen == newest_first

    window = {"start_date": "2026-01-02", "end_date": "2026-01-03T00:00:00Z"}
    shown = [item["response_id"] for item in api.get(path, window).json()["data"]]
    assert shown == newest_first[2:4]

    response = api.get(path, {"start_date": "2026-01-03", "end_date": "2026-01-02"})
    assert response.status_code == 400
    assert detail(response) == "start_date must be less than or equal to end_date"
    response = api.get(path, {"start_date": "yesterday"})
    assert response.status_code == 422


def test_a_cursor_of_another_conversation_is_invalid(
    api: Api, org_path: str, organization: Any, conversation: Conversation
) -> None:
    other = ConversationFactory.create(organization=organization)
    for owner in (conversation, other):
        ResponseDraftFactory.create_batch(2, conversation=owner, status=DraftStatus.SUPERSEDED)
    cursor = api.get(drafts_path(org_path, conversation), {"limit": "1"}).json()["pagination"][
        "next_cursor"
    ]
    response = api.get(drafts_path(org_path, other), {"limit": "1", "cursor": cursor})
    assert response.status_code == 400
    assert detail(response) == "Invalid cursor"


def test_each_history_item_names_the_channel_the_reply_goes_out_on(
    api: Api, org_path: str, organization: Any, channels: None
) -> None:
    by_text = ConversationFactory.create(organization=organization)
    MessageFactory.create(conversation=by_text, modality="text")
    assert api.post(drafts_path(org_path, by_text), {"body_html": "On my way"}).status_code == 200
    by_email = ConversationFactory.create(organization=organization)
    MessageFactory.create(conversation=by_email, modality="email")
    assert api.post(drafts_path(org_path, by_email), {"body_html": "Attached"}).status_code == 200
    for conversation, modality in ((by_text, "text"), (by_email, "email")):
        items = api.get(drafts_path(org_path, conversation)).json()["data"]
        assert [item["modality"] for item in items] == [modality]


@pytest.mark.parametrize(
    "copies", [{"cc_emails": ["a@example.com"]}, {"bcc_emails": ["b@example.com"]}]
)
def test_copies_on_a_reply_that_goes_out_as_text_are_400(
    api: Api, org_path: str, organization: Any, channels: None, copies: dict[str, list[str]]
) -> None:
    conversation = ConversationFactory.create(organization=organization)
    MessageFactory.create(conversation=conversation, modality="text")
    response = api.post(drafts_path(org_path, conversation), {"body_html": "Hi", **copies})
    assert response.status_code == 400
    assert detail(response) == "cc_emails and bcc_emails apply to email only"
    assert not ResponseDraft.objects.for_org(organization).exists()


def test_copies_on_a_text_message_draft_are_400(api: Api, org_path: str, channels: None) -> None:
    body = {**TEXT_BODY, "cc_emails": ["a@example.com"]}
    response = api.post(f"{org_path}/message-drafts", body)
    assert response.status_code == 400
    assert detail(response) == "cc_emails and bcc_emails apply to email only"
