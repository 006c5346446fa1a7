"""What an import emits: an event for each row it creates that an endpoint subscribes to
(received messages only), none for the rows it updates."""

import json
from pathlib import Path

import pytest

from apps.organizations.models import Organization
from apps.transfer.importer import import_lines
from apps.webhooks.models import Delivery
from apps.webhooks.services import endpoint_create

pytestmark = pytest.mark.django_db
FIXTURE = Path(__file__).parent.parent / "transfer" / "fixtures" / "acme.jsonl"


def lines() -> list[bytes]:
    return FIXTURE.read_bytes().splitlines(keepends=True)


def test_an_import_emits_for_what_it_creates_and_nothing_for_what_it_updates() -> None:
    import_lines(lines())  # no endpoint yet: nothing is recorded
    assert Delivery.objects.unscoped().count() == 0
    organization = Organization.objects.get(public_id="org_7Yq2LmN4pR8sT1vW3xZ5bC")
    endpoint_create(organization=organization, url="https://93.184.216.34/h", events=["*"])

    import_lines(lines())  # the same file again: every row exists, none is an event
    assert Delivery.objects.unscoped().count() == 0

    # Copies of the file's rows under new ids: a contact, its conversation, a received and
    # a sent message.
    records = [json.loads(line) for line in lines()]
    contact = {**records[5], "contact_id": "ctc_new", "email": "new@example.com"}
    received, sent = (
        {**records[index], "message_id": f"msg_new_{index}", "conversation_id": "cnv_new"}
        for index in (11, 12)
    )
    for message in (received, sent):
        message["tracked_links"] = []  # (their ids are the originals')
    conversation = {
        **records[8],
        "conversation_id": "cnv_new",
        "contact_id": "ctc_new",
        "last_activity_at": max(received["sent_at"], sent["sent_at"]),
    }
    new = [records[0], contact, conversation, received, sent]
    import_lines(lines() + [json.dumps(line).encode() + b"\n" for line in new])
    events = sorted((d.event_type, json.loads(d.body)["data"]) for d in Delivery.objects.unscoped())
    key = {"contact.created": "contact_id", "conversation.created": "conversation_id"}
    assert [(t, data[key.get(t, "message_id")]) for t, data in events] == [
        ("contact.created", "ctc_new"),
        ("conversation.created", "cnv_new"),
        ("message.received", "msg_new_11"),
    ]
    conversation = next(data for t, data in events if t == "conversation.created")
    assert conversation["last_activity_at"] == sent["sent_at"]  # touched before rendered
