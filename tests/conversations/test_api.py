from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.conversations.models import Direction, Modality
from tests.factories import (
    AgentFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    TrackedLinkFactory,
)
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 12, 0, 32, 13, 782565, tzinfo=UTC)


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [row.get("message_id") or row["conversation_id"] for row in response.json()["data"]]


def test_conversation_shape(api: Api, org_path: str, organization: Any) -> None:
    agent = AgentFactory.create(organization=organization)
    contact = ContactFactory.create(organization=organization, public_id="lead-7")
    conversation = ConversationFactory.create(
        organization=organization,
        public_id="thread.42",
        contact=contact,
        agent=agent,
        folder="sales-follow-up",
        is_read=True,
        start_at=T0,
    )
    MessageFactory.create(conversation=conversation, sent_at=T0 + timedelta(hours=2))
    expected = {
        "conversation_id": "thread.42",
        "start_at": "2026-03-12T00:32:13.782565Z",
        "last_activity_at": "2026-03-12T02:32:13.782565Z",
        "folder": "sales-follow-up",
        "is_read": True,
        "contact_id": "lead-7",
        "agent_id": agent.public_id,
    }
    assert api.get(f"{org_path}/conversations/thread.42").json() == expected
    assert api.get(f"{org_path}/conversations").json()["data"] == [expected]


def test_unassigned_conversation_without_messages(
    api: Api, org_path: str, organization: Any
) -> None:
    conversation = ConversationFactory.create(
        organization=organization, agent=None, start_at=datetime(2026, 4, 29, 14, tzinfo=UTC)
    )
    body = api.get(f"{org_path}/conversations/{conversation.public_id}").json()
    assert body["agent_id"] is None
    assert body["folder"] == "inbox"
    assert body["is_read"] is False
    assert body["last_activity_at"] == body["start_at"] == "2026-04-29T14:00:00Z"


def test_conversations_newest_start_first_with_filters(
    api: Api, org_path: str, organization: Any
) -> None:
    made = [
        ConversationFactory.create(
            organization=organization,
            start_at=T0 + timedelta(days=day),
            folder="inbox" if day % 2 else "archive",
            is_read=day < 2,
        )
        for day in range(4)
    ]
    newest_first = [c.public_id for c in reversed(made)]
    assert ids(api.get(f"{org_path}/conversations")) == newest_first
    assert ids(api.get(f"{org_path}/conversations", {"folder": "archive"})) == [
        made[2].public_id,
        made[0].public_id,
    ]
    assert ids(api.get(f"{org_path}/conversations", {"is_read": "true"})) == [
        made[1].public_id,
        made[0].public_id,
    ]
    window = {"start_date": "2026-03-13", "end_date": (T0 + timedelta(days=3)).isoformat()}
    assert ids(api.get(f"{org_path}/conversations", window)) == [
        made[2].public_id,
        made[1].public_id,
    ]
    response = api.get(
        f"{org_path}/conversations", {"start_date": "2026-03-14", "end_date": "2026-03-13"}
    )
    assert response.status_code == 400
    assert detail(response) == "start_date must be less than or equal to end_date"
    response = api.get(f"{org_path}/conversations", {"start_date": "yesterday"})
    assert response.status_code == 422
    assert ids(api.get(f"{org_path}/conversations", {"is_read": "false"})) == [
        made[3].public_id,
        made[2].public_id,
    ]


@pytest.mark.parametrize("value", ["maybe", "True", "1", "yes"])
def test_is_read_takes_true_or_false_only(api: Api, org_path: str, value: str) -> None:
    response = api.get(f"{org_path}/conversations", {"is_read": value})
    assert response.status_code == 422
    assert detail(response) == "is_read: Must be true or false."


def test_conversations_paginate_across_equal_start_times(
    api: Api, org_path: str, organization: Any
) -> None:
    made = {
        ConversationFactory.create(organization=organization, start_at=T0).public_id
        for _ in range(5)
    }
    seen: list[str] = []
    params: dict[str, str] = {"limit": "2"}
    while True:
        body = api.get(f"{org_path}/conversations", params).json()
        seen += [row["conversation_id"] for row in body["data"]]
        if not body["pagination"]["has_more"]:
            break
        params = {"limit": "2", "cursor": body["pagination"]["next_cursor"]}
    assert sorted(seen) == sorted(made)
    assert len(seen) == 5


def test_conversation_detail_errors(api: Api, org_path: str) -> None:
    response = api.get(f"{org_path}/conversations/cnv_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 404
    assert detail(response) == "Conversation not found"
    response = api.get(f"{org_path}/conversations/ctc_3hG5kq2mN8pQ4rS6tU7vW9")
    assert response.status_code == 400
    assert detail(response) == "Invalid conversation_id"


def test_message_shape_email_with_tracked_links(api: Api, org_path: str, organization: Any) -> None:
    agent = AgentFactory.create(organization=organization)
    conversation = ConversationFactory.create(organization=organization, start_at=T0)
    message = MessageFactory.create(
        conversation=conversation,
        public_id="mail-1",
        agent=agent,
        modality=Modality.EMAIL,
        direction=Direction.SENT,
        subject="Your quote",
        content="<p>Here it is</p>",
        sent_at=T0 + timedelta(minutes=5),
        drafted_at=T0 + timedelta(minutes=1),
        email_message_id="<abc@mail.example>",
        cc_emails=["boss@example.com"],
        bcc_emails=["log@example.com"],
    )
    first = TrackedLinkFactory.create(message=message, url="https://x.example/q", click_count=3)
    second = TrackedLinkFactory.create(message=message, url="https://x.example/pay", click_count=0)
    expected = {
        "message_id": "mail-1",
        "conversation_id": conversation.public_id,
        "agent_id": agent.public_id,
        "modality": "email",
        "message_direction": "sent",
        "is_form_request": False,
        "subject": "Your quote",
        "content": "<p>Here it is</p>",
        "call_transcript": None,
        "form_request_body": None,
        "sent_at": "2026-03-12T00:37:13.782565Z",
        "drafted_at": "2026-03-12T00:33:13.782565Z",
        "email_metadata": {
            "email_message_id": "<abc@mail.example>",
            "cc_emails": ["boss@example.com"],
            "bcc_emails": ["log@example.com"],
        },
        "call_metadata": {"duration": None},
        "tracked_links": [
            {"link_id": first.public_id, "url": "https://x.example/q", "click_count": 3},
            {"link_id": second.public_id, "url": "https://x.example/pay", "click_count": 0},
        ],
    }
    path = f"{org_path}/conversations/{conversation.public_id}/messages"
    assert api.get(f"{path}/mail-1").json() == expected
    assert api.get(path).json()["data"] == [expected]


@pytest.mark.parametrize("modality", list(Modality))
def test_message_metadata_always_present(
    api: Api, org_path: str, organization: Any, modality: Modality
) -> None:
    conversation = ConversationFactory.create(organization=organization)
    form = {"name": "Ann", "service": "roof repair"} if modality == Modality.FORM else None
    message = MessageFactory.create(
        conversation=conversation,
        agent=None,
        modality=modality,
        subject=None,
        call_transcript="Hi, calling about the roof" if modality == Modality.CALL else None,
        call_duration=125 if modality == Modality.CALL else None,
        form_request_body=form,
    )
    body = api.get(
        f"{org_path}/conversations/{conversation.public_id}/messages/{message.public_id}"
    ).json()
    assert body["modality"] == modality.value
    assert body["is_form_request"] is (modality == Modality.FORM)
    assert body["agent_id"] is None
    assert body["form_request_body"] == form
    assert body["email_metadata"] == {"email_message_id": None, "cc_emails": [], "bcc_emails": []}
    assert body["call_metadata"] == {"duration": 125 if modality == Modality.CALL else None}
    assert body["tracked_links"] == []


def test_messages_are_chronological_with_date_filters(
    api: Api, org_path: str, organization: Any
) -> None:
    conversation = ConversationFactory.create(organization=organization, start_at=T0)
    made = [
        MessageFactory.create(conversation=conversation, sent_at=T0 + timedelta(hours=hours))
        for hours in (3, 1, 2, 1)
    ]
    path = f"{org_path}/conversations/{conversation.public_id}/messages"
    in_order = [made[1], made[3], made[2], made[0]]  # sent_at, then id
    assert ids(api.get(path)) == [m.public_id for m in in_order]
    page = api.get(path, {"limit": "3"}).json()
    rest = api.get(path, {"limit": "3", "cursor": page["pagination"]["next_cursor"]})
    assert ids(rest) == [made[0].public_id]
    window = {"start_date": (T0 + timedelta(hours=2)).isoformat()}
    assert ids(api.get(path, window)) == [made[2].public_id, made[0].public_id]
    body = api.get(f"{org_path}/conversations/{conversation.public_id}").json()
    assert body["last_activity_at"] == "2026-03-12T03:32:13.782565Z"


def test_message_of_another_conversation_is_404(api: Api, org_path: str, organization: Any) -> None:
    mine = ConversationFactory.create(organization=organization)
    other = ConversationFactory.create(organization=organization)
    message = MessageFactory.create(conversation=other)
    response = api.get(f"{org_path}/conversations/{mine.public_id}/messages/{message.public_id}")
    assert response.status_code == 404
    assert detail(response) == "Message not found"
    assert message.public_id not in ids(
        api.get(f"{org_path}/conversations/{mine.public_id}/messages")
    )
    response = api.get(f"{org_path}/conversations/{mine.public_id}/messages/cnv_x")
    assert response.status_code == 400
    assert detail(response) == "Invalid message_id"
    response = api.get(f"{org_path}/conversations/nope/messages")
    assert response.status_code == 404
    assert detail(response) == "Conversation not found"


def test_contact_and_agent_conversations(api: Api, org_path: str, organization: Any) -> None:
    contact = ContactFactory.create(organization=organization)
    agent = AgentFactory.create(organization=organization)
    ours = [
        ConversationFactory.create(
            organization=organization, contact=contact, agent=agent, start_at=T0 + timedelta(days=d)
        )
        for d in range(3)
    ]
    ConversationFactory.create(organization=organization)  # someone else's
    expected = [c.public_id for c in reversed(ours)]
    assert ids(api.get(f"{org_path}/contacts/{contact.public_id}/conversations")) == expected
    assert ids(api.get(f"{org_path}/agents/{agent.public_id}/conversations")) == expected
    window = {
        "start_date": (T0 + timedelta(days=1)).isoformat(),
        "end_date": "2026-03-14T00:32:13.782565Z",
    }
    assert ids(api.get(f"{org_path}/agents/{agent.public_id}/conversations", window)) == [
        ours[1].public_id
    ]
    for path, name in (("contacts", "Contact"), ("agents", "Agent")):
        response = api.get(f"{org_path}/{path}/missing/conversations")
        assert response.status_code == 404
        assert detail(response) == f"{name} not found"
    response = api.get(f"{org_path}/contacts/agt_3hG5kq2mN8pQ4rS6tU7vW9/conversations")
    assert response.status_code == 400
    assert detail(response) == "Invalid contact_id"


def test_nested_lists_have_no_detail_route(api: Api, org_path: str, organization: Any) -> None:
    conversation = ConversationFactory.create(organization=organization)
    contact_path = f"{org_path}/contacts/{conversation.contact.public_id}"
    response = api.get(f"{contact_path}/conversations/{conversation.public_id}")
    assert response.status_code == 404
    assert detail(response) == "Not found"


def test_cursor_is_bound_to_its_conversation(api: Api, org_path: str, organization: Any) -> None:
    first, second = ConversationFactory.create_batch(2, organization=organization)
    for conversation in (first, second):
        MessageFactory.create_batch(2, conversation=conversation)
    page = api.get(f"{org_path}/conversations/{first.public_id}/messages", {"limit": "1"}).json()
    response = api.get(
        f"{org_path}/conversations/{second.public_id}/messages",
        {"limit": "1", "cursor": page["pagination"]["next_cursor"]},
    )
    assert response.status_code == 400
    assert detail(response) == "Invalid cursor"
