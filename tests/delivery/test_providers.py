"""Texts through a local double of Twilio's Messages API, and email through an ESP's API
(Postmark's, through django-anymail): what is posted, and what each answer does."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import timezone

from apps.conversations.models import Message
from apps.drafts.models import DraftStatus, MessageDraft
from apps.organizations.models import Channel, ChannelKind, Organization
from apps.organizations.services import channel_configure
from hyperrep.outbox.worker import Worker
from tests.delivery.peers import HTTPDouble
from tests.helpers import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def twilio(organization: Organization) -> Iterator[HTTPDouble]:
    with HTTPDouble() as double:
        channel_configure(
            organization=organization,
            kind=ChannelKind.TEXT,
            sender="+1 513 555 0100",
            transport=f"twilio+http://AC123:auth-token@127.0.0.1:{double.port}",
        )
        yield double


def text_draft(
    api: Api, organization: Organization, body: str = "<p>On our way!</p>"
) -> MessageDraft:
    response = api.post(
        f"/organizations/{organization.public_id}/message-drafts",
        {
            "modality": "text",
            "body_html": body,
            "to_phone_number": "(555) 010-9999",
            "autosend_draft": True,
        },
    )
    assert response.status_code == 200, response.content
    return MessageDraft.objects.unscoped().get(public_id=response.json()["draft_id"])


def test_a_text_is_posted_to_the_messages_api(
    api: Api, organization: Organization, twilio: HTTPDouble, settings: Any
) -> None:
    settings.PUBLIC_URL = "https://hyperrep.example.com"
    draft = text_draft(api, organization)
    Worker().run(until_idle=True)

    [call] = twilio.calls
    assert call.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert call.authorization == ("AC123", "auth-token")
    channel = Channel.objects.for_org(organization).get(kind=ChannelKind.TEXT)
    assert call.form == {
        "From": "+15135550100",
        "To": "+15550109999",
        "Body": "On our way!",
        "StatusCallback": f"https://hyperrep.example.com/inbound/text/{channel.inbound_token}/status",
    }
    draft.refresh_from_db()
    assert draft.status == DraftStatus.SENT
    assert draft.provider_message_id is not None
    assert draft.provider_message_id.startswith("SM")
    message = Message.objects.unscoped().get(public_id=draft.message_public_id)
    assert (message.modality, message.content) == ("text", "<p>On our way!</p>")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_busy_or_broken_answers_are_retried(
    api: Api, organization: Organization, twilio: HTTPDouble, status: int
) -> None:
    twilio.answers = [(status, {"message": "Too many requests"})]
    draft = text_draft(api, organization)
    Worker().run(until_idle=True)
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SCHEDULED, 1)
    assert draft.last_error == f"Twilio HTTP {status}: Too many requests"
    MessageDraft.objects.unscoped().filter(pk=draft.pk).update(next_attempt_at=timezone.now())
    Worker().run(until_idle=True)
    draft.refresh_from_db()
    assert (draft.status, draft.attempts) == (DraftStatus.SENT, 2)
    assert len(twilio.calls) == 2


def test_a_refusal_fails_the_draft(
    api: Api, organization: Organization, twilio: HTTPDouble
) -> None:
    twilio.answers = [
        (400, {"code": 21211, "message": "The 'To' number is not a valid phone number."})
    ]
    draft = text_draft(api, organization)
    Worker().run(until_idle=True)
    draft.refresh_from_db()
    assert draft.status == DraftStatus.FAILED
    assert draft.failure_reason == "Twilio HTTP 400: The 'To' number is not a valid phone number."
    assert len(twilio.calls) == 1


def test_email_through_an_esp_api(api: Api, organization: Organization) -> None:
    answer = (200, {"To": "ann@example.com", "ErrorCode": 0, "Message": "OK", "MessageID": "pm-1"})
    with HTTPDouble(lambda call: answer) as postmark:
        channel_configure(
            organization=organization,
            kind=ChannelKind.EMAIL,
            sender="Acme <sales@acme.example>",
            transport=f"anymail+postmark://pm-server-token@?api_url=http://127.0.0.1:{postmark.port}/",
        )
        response = api.post(
            f"/organizations/{organization.public_id}/message-drafts",
            {
                "modality": "email",
                "subject": "Your quote",
                "body_html": "<p>Attached.</p>",
                "to_email": "ann@example.com",
                "autosend_draft": True,
            },
        )
        Worker().run(until_idle=True)
    [call] = postmark.calls
    assert call.path == "/email"
    assert call.body["From"] == "Acme <sales@acme.example>"
    assert call.body["To"] == "ann@example.com"
    assert call.body["Subject"] == "Your quote"
    assert call.body["HtmlBody"] == "<p>Attached.</p>"
    assert call.body["TextBody"] == "Attached."
    draft = MessageDraft.objects.unscoped().get(public_id=response.json()["draft_id"])
    assert {h["Name"]: h["Value"] for h in call.body["Headers"]}["Message-ID"] == (
        f"<{draft.message_public_id}@acme.example>"
    )
    draft.refresh_from_db()
    assert (draft.status, draft.provider_message_id) == (DraftStatus.SENT, "pm-1")
