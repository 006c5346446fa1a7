from typing import Any

import pytest
from django.test import Client

from apps.conversations.models import Message
from apps.inbound.models import InboundEvent
from apps.organizations.models import Channel, ChannelKind, Organization
from apps.organizations.services import channel_configure
from hyperrep.outbox.worker import Worker

AUTH_TOKEN = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def channels(organization: Organization) -> dict[str, Channel]:
    """The organization's three channels: email (reply domain reply.acme.example), text
    (console, with an auth token to sign with), form (one allowed origin)."""
    return {
        "email": channel_configure(
            organization=organization,
            kind=ChannelKind.EMAIL,
            sender="Acme Roofing <sales@acme.example>",
            transport="console://",
            reply_domain="reply.acme.example",
        ),
        "text": channel_configure(
            organization=organization,
            kind=ChannelKind.TEXT,
            sender="+15135550100",
            transport=f"console://AC0000000000000000000000000000000a:{AUTH_TOKEN}@",
        ),
        "form": channel_configure(
            organization=organization,
            kind=ChannelKind.FORM,
            allowed_origins=["https://acme.example"],
        ),
    }


@pytest.fixture
def client() -> Client:
    return Client()


def process() -> None:
    """What a running worker does: every due event processed (and every due draft sent)."""
    Worker(idle_seconds=0).run(until_idle=True)


def only_event(**filters: Any) -> InboundEvent:
    return InboundEvent.objects.unscoped().filter(**filters).get()


def received(**filters: Any) -> Message:
    """The message the one event became."""
    message = only_event(**filters).message
    assert message is not None
    return message
