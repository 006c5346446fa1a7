"""Property tests: on random conversations, every figure of every endpoint equals the plain-
Python reference written from docs/analytics.md (tests/analytics/reference.py), and the
columns conversations derive from their messages (what analytics aggregate) equal a direct
computation from the messages, whichever way the messages were written.

Times come from a few instants on purpose (window edges, equal times, half seconds), so that
ties and rounding come up in most examples, mixed with arbitrary ones."""

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Message
from apps.conversations.services import conversations_touch
from apps.keys.services import api_key_create
from apps.organizations.models import Organization
from hyperrep import ids
from tests.analytics import reference
from tests.analytics.reference import Msg, Thread, assert_derived_exact, assert_rollups_exact
from tests.factories import ContactFactory, OrganizationFactory
from tests.helpers import Api

pytestmark = pytest.mark.django_db

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
SPECIAL_US = [0, 1, 499_999, 500_000, 1_000_000, 1_500_000, 2_500_000, 3_600_000_000]
PATHS = {
    "": None,
    "/response-rate": "responseRateStats",
    "/response-time": "responseTimeStats",
    "/volume": "volumeStats",
    "/modality": "modalityStats",
}

instants = st.one_of(st.sampled_from(SPECIAL_US), st.integers(0, 4 * 86_400_000_000)).map(
    lambda us: EPOCH + timedelta(microseconds=us)
)
messages = st.tuples(
    st.sampled_from(["received", "sent"]),
    st.sampled_from(["email", "text", "call", "live_chat", "form"]),
    instants,
)
threads = st.tuples(instants, st.lists(messages, max_size=6))
data = st.lists(threads, max_size=8)
windows = st.tuples(instants, instants).map(sorted)

PROPERTY = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def write(organization: Organization, generated: list[tuple[datetime, list[Any]]]) -> None:
    """Rows in the generated order (the order the server records them), then every
    conversation derived at once, as an import does."""
    contact = ContactFactory.create(organization=organization)
    conversations = Conversation.objects.bulk_create(
        Conversation(
            organization=organization, contact=contact, start_at=start, last_activity_at=start
        )
        for start, _messages in generated
    )
    Message.objects.bulk_create(
        Message(
            organization=organization,
            conversation=conversation,
            direction=direction,
            modality=modality,
            sent_at=sent_at,
        )
        for conversation, (_start, rows) in zip(conversations, generated, strict=True)
        for direction, modality, sent_at in rows
    )
    conversations_touch(Conversation.objects.for_org(organization))


def expected_of(organization: Organization, window: list[datetime]) -> dict[str, Any]:
    return reference.analytics(reference.threads_of(organization).values(), *window)


def answers(organization: Organization, window: list[datetime]) -> dict[str, Any]:
    """Every endpoint's answer for the window, keyed like the combined one."""
    api = Api(api_key_create(organizations=[organization], name="property")[1])
    params = {"start_date": window[0].isoformat(), "end_date": window[1].isoformat()}
    base = f"/organizations/{organization.public_id}/analytics/conversations"
    combined = api.get(base, params).json()
    for path, key in PATHS.items():
        if key is not None:
            assert api.get(base + path, params).json() == combined[key], path
    return combined


def change(organization: Organization, edits: st.DataObject) -> None:
    """Delete some messages and move others in time or direction, statement by statement,
    then derive the conversations again, as a write path does."""
    pks = list(Message.objects.for_org(organization).values_list("pk", flat=True))
    if not pks:
        return
    chosen = edits.draw(st.lists(st.sampled_from(pks), unique=True, max_size=4))
    Message.objects.unscoped().filter(pk__in=chosen[:2]).delete()
    for pk in chosen[2:]:
        direction, _modality, sent_at = edits.draw(messages)
        Message.objects.unscoped().filter(pk=pk).update(direction=direction, sent_at=sent_at)
    conversations_touch(Conversation.objects.for_org(organization))


@PROPERTY
@given(mine=data, theirs=data, window=windows, edits=st.data())
def test_every_figure_equals_the_reference(
    db: None, mine: list[Any], theirs: list[Any], window: list[datetime], edits: st.DataObject
) -> None:
    organization, other = OrganizationFactory.create(), OrganizationFactory.create()
    write(organization, mine)
    write(other, theirs)  # never counted in the first organization's figures
    change(organization, edits)
    assert_derived_exact(organization)
    assert_rollups_exact(organization)
    assert answers(organization, window) == expected_of(organization, window)


# -- through the importer ------------------------------------------------------------------


def lines(
    organization_id: str, generated: list[tuple[datetime, list[Any]]], moves: dict[int, int]
) -> list[dict[str, Any]]:
    """An import file of the generated conversations; `moves` puts message number n into
    conversation moves[n] instead of its own."""
    tenant = {"organization_id": organization_id}
    out: list[dict[str, Any]] = [
        {"type": "organization", **tenant, "name": "Property"},
        {
            "type": "contact",
            **tenant,
            "contact_id": "ctc-1",
            "name": None,
            "email": None,
            "phone_number": None,
            "created_at": EPOCH.isoformat(),
            "company_id": None,
            "custom_fields": {},
            "company_role": None,
        },
    ]
    for number, (start, _rows) in enumerate(generated):
        out.append(
            {
                "type": "conversation",
                **tenant,
                "conversation_id": f"cnv-{number}",
                "start_at": start.isoformat(),
                "folder": "inbox",
                "is_read": False,
                "contact_id": "ctc-1",
                "agent_id": None,
            }
        )
    numbered = [(c, row) for c, (_start, rows) in enumerate(generated) for row in rows]
    for number, (conversation, (direction, modality, sent_at)) in enumerate(numbered):
        out.append(
            {
                "type": "message",
                **tenant,
                "message_id": f"msg-{number}",
                "conversation_id": f"cnv-{moves.get(number, conversation)}",
                "agent_id": None,
                "modality": modality,
                "message_direction": direction,
                "is_form_request": modality == "form",
                "subject": None,
                "content": "hi",
                "call_transcript": None,
                "form_request_body": None,
                "sent_at": sent_at.isoformat(),
                "drafted_at": None,
                "email_metadata": {"email_message_id": None, "cc_emails": [], "bcc_emails": []},
                "call_metadata": {"duration": None},
                "tracked_links": [],
            }
        )
    return out


def import_lines(path: Path, content: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(line) + "\n" for line in content), encoding="utf-8")
    call_command("import_data", str(path), stdout=io.StringIO())


@settings(PROPERTY, max_examples=40)
@given(
    first=st.lists(threads, min_size=1, max_size=6),
    second=st.data(),
    window=windows,
)
def test_imports_and_reimports_keep_the_derived_columns_exact(
    db: None, tmp_path: Path, first: list[Any], second: st.DataObject, window: list[datetime]
) -> None:
    organization_id = ids.mint("org")
    import_lines(tmp_path / "first.jsonl", lines(organization_id, first, {}))
    organization = Organization.objects.get(public_id=organization_id)
    assert_derived_exact(organization)
    assert_rollups_exact(organization)

    # The same ids again, with messages changed in place and moved between conversations.
    changed = [
        (start, [second.draw(messages) if second.draw(st.booleans()) else row for row in rows])
        for start, rows in first
    ]
    count = sum(len(rows) for _start, rows in changed)
    moves = second.draw(
        st.dictionaries(st.integers(0, max(count - 1, 0)), st.integers(0, len(first) - 1))
    )
    import_lines(tmp_path / "second.jsonl", lines(organization_id, changed, moves))
    assert Contact.objects.for_org(organization).count() == 1
    assert_derived_exact(organization)
    assert_rollups_exact(organization)
    assert answers(organization, window) == expected_of(organization, window)


def test_the_reference_reads_threads_in_recording_order() -> None:
    # The reference's own tie rule, checked once by hand: equal times, first recorded wins.
    at = EPOCH
    thread = Thread(at, (Msg(2, "received", "email", at), Msg(1, "received", "call", at)))
    assert reference.derive(thread).first_inbound_modality == "call"
