"""Inbound texts from Twilio: the signature, threading by number, dedupe, status callbacks."""

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from apps.conversations.models import Direction, Message, Modality
from apps.drafts.models import DraftStatus, ResponseDraft
from apps.inbound.models import EventStatus, InboundEvent
from apps.inbound.text import signature, signature_is_valid
from apps.organizations.models import Channel, Organization
from tests.factories import (
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    ResponseDraftFactory,
)
from tests.inbound.conftest import AUTH_TOKEN, only_event, process, received

pytestmark = pytest.mark.django_db


def test_the_signature_is_twilios() -> None:
    # The example of Twilio's documentation, and one computed by the twilio package's
    # RequestValidator: an implementation independent of ours.
    fields = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert signature("12345", url, fields.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    text = {
        "MessageSid": "SM11111111111111111111111111111111",
        "From": "+15135550111",
        "To": "+15135550100",
        "Body": "Is Tuesday OK?",
        "NumMedia": "0",
    }
    signed = signature(AUTH_TOKEN, "https://crm.acme.example/inbound/text/TOKEN", text.items())
    assert signed == "lONP+qlwJ/iDqu1wJ250Ac9Ps0U="
    # Twilio signs the URL it was given; a proxy may add or drop the default port.
    assert signature_is_valid(
        "12345",
        "https://mycompany.com:443/myapp.php?foo=1&bar=2",
        fields.items(),
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
    )
    assert not signature_is_valid("12345", url, fields.items(), "RSOYDt4T1cUTdK1PDd93/VVr8B8=")


SID = "SM" + "1" * 32
FORM = "application/x-www-form-urlencoded"


def text_fields(**overrides: str) -> dict[str, str]:
    return {
        "MessageSid": SID,
        "AccountSid": "AC" + "0" * 31 + "a",
        "From": "+15135550111",
        "To": "+15135550100",
        "Body": "Is Tuesday OK?",
        "NumMedia": "0",
        **overrides,
    }


def send(
    client: Client,
    channel: Channel,
    fields: dict[str, str],
    *,
    path: str = "",
    signed_url: str | None = None,
    token: str = AUTH_TOKEN,
    **extra: Any,
) -> Any:
    route = f"/inbound/text/{channel.inbound_token}{path}"
    url = signed_url or f"http://testserver{route}"
    return client.post(
        route,
        urlencode(fields),
        content_type=FORM,
        HTTP_X_TWILIO_SIGNATURE=signature(token, url, fields.items()),
        **extra,
    )


def test_a_signed_text_becomes_a_received_message(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    response = send(client, channels["text"], text_fields())
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode() == '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    process()
    message = received()
    assert (message.direction, message.modality) == (Direction.RECEIVED, Modality.TEXT)
    assert message.content == "Is Tuesday OK?"
    assert message.conversation.contact.phone_e164 == "+15135550111"
    assert message.conversation.is_read is False


def test_a_bad_signature_is_403_and_nothing_is_stored(
    client: Client, channels: dict[str, Channel]
) -> None:
    fields = text_fields()
    wrong = send(client, channels["text"], fields, token="not-the-auth-token")
    assert wrong.status_code == 403
    assert wrong.json() == {"detail": "Invalid signature"}
    unsigned = client.post(
        f"/inbound/text/{channels['text'].inbound_token}", urlencode(fields), content_type=FORM
    )
    assert unsigned.status_code == 403
    tampered = send(client, channels["text"], fields)  # signed, then a field changed below
    assert tampered.status_code == 200
    fields_changed = {**fields, "Body": "changed"}
    route = f"/inbound/text/{channels['text'].inbound_token}"
    good = signature(AUTH_TOKEN, f"http://testserver{route}", fields.items())
    forged = client.post(
        route, urlencode(fields_changed), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=good
    )
    assert forged.status_code == 403
    assert InboundEvent.objects.unscoped().count() == 1


def test_behind_a_proxy_public_url_is_what_is_signed(
    client: Client, channels: dict[str, Channel], settings: Any
) -> None:
    settings.PUBLIC_URL = "https://crm.acme.example"
    route = f"/inbound/text/{channels['text'].inbound_token}"
    # The proxy reached this server as http://10.0.0.5:8000; Twilio signed the public URL.
    as_seen = send(client, channels["text"], text_fields(), signed_url=f"http://testserver{route}")
    assert as_seen.status_code == 403
    public = send(
        client, channels["text"], text_fields(), signed_url=f"https://crm.acme.example{route}"
    )
    assert public.status_code == 200


def test_the_same_message_sid_twice_is_one_message(
    client: Client, channels: dict[str, Channel]
) -> None:
    assert send(client, channels["text"], text_fields()).status_code == 200
    assert send(client, channels["text"], text_fields()).status_code == 200
    process()
    assert Message.objects.unscoped().count() == 1


def test_a_text_joins_the_contacts_recent_text_conversation(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    contact = ContactFactory.create(organization=organization, phone_number="(513) 555-0111")
    recent = ConversationFactory.create(organization=organization, contact=contact)
    MessageFactory.create(
        organization=organization,
        conversation=recent,
        modality=Modality.TEXT,
        direction=Direction.SENT,
        sent_at=timezone.now() - timedelta(days=6),
    )
    send(client, channels["text"], text_fields())
    process()
    assert received().conversation == recent


@pytest.mark.parametrize(
    ("modality", "age"),
    [(Modality.TEXT, timedelta(days=8)), (Modality.EMAIL, timedelta(hours=1))],
    ids=["old-text", "recent-email"],
)
def test_otherwise_a_text_starts_a_new_conversation(
    client: Client,
    channels: dict[str, Channel],
    organization: Organization,
    modality: str,
    age: timedelta,
) -> None:
    contact = ContactFactory.create(organization=organization, phone_number="+1 513 555 0111")
    older = ConversationFactory.create(organization=organization, contact=contact)
    MessageFactory.create(
        organization=organization,
        conversation=older,
        modality=modality,
        sent_at=timezone.now() - age,
    )
    send(client, channels["text"], text_fields())
    process()
    message = received()
    assert message.conversation != older
    assert message.conversation.contact == contact


def test_a_text_from_no_number_is_400_and_kept(
    client: Client, channels: dict[str, Channel]
) -> None:
    response = send(client, channels["text"], text_fields(From="VERIFY"))
    assert response.status_code == 400
    assert response.json() == {"detail": "From is not a phone number: VERIFY"}
    assert only_event().status == EventStatus.REFUSED


@pytest.fixture
def sent_text(organization: Organization) -> Any:
    return ResponseDraftFactory.create(
        organization=organization,
        modality="text",
        status=DraftStatus.SENT,
        sent_at=timezone.now(),
        provider_message_id=SID,
    )


def status(client: Client, channel: Channel, value: str, **more: str) -> Any:
    fields = {"MessageSid": SID, "MessageStatus": value, **more}
    return send(client, channel, fields, path="/status")


def test_undelivered_makes_the_sent_draft_failed(
    client: Client, channels: dict[str, Channel], sent_text: ResponseDraft
) -> None:
    assert status(client, channels["text"], "sent").status_code == 204
    assert status(client, channels["text"], "undelivered", ErrorCode="30003").status_code == 204
    process()
    sent_text.refresh_from_db()
    assert sent_text.status == DraftStatus.FAILED
    assert sent_text.failure_reason == "Twilio: undelivered (error 30003)"
    assert sent_text.delivery_status == "undelivered"


def test_delivered_is_recorded_and_a_late_sent_does_not_undo_it(
    client: Client, channels: dict[str, Channel], sent_text: ResponseDraft
) -> None:
    status(client, channels["text"], "delivered")
    process()
    status(client, channels["text"], "sent")
    process()
    sent_text.refresh_from_db()
    assert sent_text.status == DraftStatus.SENT
    assert sent_text.delivery_status == "delivered"


def test_a_callback_before_the_send_is_recorded_is_retried(
    client: Client, channels: dict[str, Channel], organization: Organization
) -> None:
    status(client, channels["text"], "failed", ErrorCode="30008")
    process()
    event = only_event()
    assert event.status == EventStatus.RECEIVED
    assert event.attempts == 1
    assert event.last_error == f"no sent text has MessageSid {SID} (yet)"
    assert event.next_attempt_at is not None
