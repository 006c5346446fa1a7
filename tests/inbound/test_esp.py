"""Inbound email through an ESP's webhook, as django-anymail checks and parses it."""

import hashlib
import hmac
import json
from urllib.parse import urlencode

import pytest
from django.test import Client

from apps.inbound.models import EventStatus, InboundEvent, Source
from apps.organizations.models import ChannelKind, Organization
from apps.organizations.services import channel_configure
from tests.inbound.conftest import only_event, process, received
from tests.inbound.test_email import PLAIN

pytestmark = pytest.mark.django_db
SIGNING_KEY = "key-0123456789abcdef"


@pytest.fixture
def mailgun(organization: Organization) -> str:
    channel = channel_configure(
        organization=organization,
        kind=ChannelKind.EMAIL,
        sender="sales@acme.example",
        transport=f"anymail+mailgun://api-key@?sender_domain=mg.acme.example&webhook_signing_key={SIGNING_KEY}",
    )
    return f"/inbound/email/{channel.inbound_token}/mailgun"


def mailgun_fields(key: str = SIGNING_KEY) -> dict[str, str]:
    timestamp, token = "1764590000", "a" * 50
    signed = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "body-mime": PLAIN.decode(),
        "recipient": "sales@acme.example",
        "sender": "ann@example.com",
        "timestamp": timestamp,
        "token": token,
        "signature": signed,
    }


FORM = "application/x-www-form-urlencoded"


def test_a_signed_mailgun_webhook_becomes_a_message(client: Client, mailgun: str) -> None:
    response = client.post(mailgun, urlencode(mailgun_fields()), content_type=FORM)
    assert response.status_code == 200
    process()
    event = only_event()
    assert (event.source, event.esp, event.status) == (
        Source.EMAIL_ESP,
        "mailgun",
        EventStatus.PROCESSED,
    )
    message = received()
    assert message.subject == "Roof quote"
    assert message.email_message_id == "<first@mail.example.com>"


def test_a_mailgun_webhook_signed_with_another_key_is_403(client: Client, mailgun: str) -> None:
    response = client.post(mailgun, urlencode(mailgun_fields("key-wrong")), content_type=FORM)
    assert response.status_code == 403
    assert response.json() == {"detail": "Invalid signature"}
    assert InboundEvent.objects.unscoped().count() == 0


def test_postmark_is_parsed_from_its_json(client: Client, organization: Organization) -> None:
    channel = channel_configure(
        organization=organization,
        kind=ChannelKind.EMAIL,
        sender="sales@acme.example",
        transport="anymail+postmark://server-token@",
    )
    payload = {
        "FromFull": {"Email": "ann@example.com", "Name": "Ann Lee"},
        "ToFull": [{"Email": "sales@acme.example", "Name": ""}],
        "CcFull": [],
        "Subject": "Gutters",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "TextBody": "And the gutters?",
        "HtmlBody": "<p>And the gutters?</p>",
        "Headers": [{"Name": "Message-ID", "Value": "<gutters@mail.example.com>"}],
        "Attachments": [],
    }
    response = client.post(
        f"/inbound/email/{channel.inbound_token}/postmark",
        json.dumps(payload),
        content_type="application/json",
    )
    assert response.status_code == 200
    process()
    message = received()
    assert (message.subject, message.content) == ("Gutters", "And the gutters?")
    assert message.conversation.contact.name == "Ann Lee"


def test_an_esp_this_server_does_not_know_is_404(client: Client, mailgun: str) -> None:
    response = client.post(
        mailgun.replace("/mailgun", "/nosuchesp"), b"{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_a_signed_payload_anymail_cannot_read_is_400_and_kept(client: Client, mailgun: str) -> None:
    # A tracking event sent to the inbound URL: signed with the right key, but no message.
    signing = mailgun_fields()
    body = {
        "signature": {k: signing[k] for k in ("timestamp", "token", "signature")},
        "event-data": {"event": "delivered"},
    }
    response = client.post(mailgun, json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("not a Mailgun inbound webhook: ")
    assert only_event().status == EventStatus.REFUSED
