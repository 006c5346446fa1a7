"""Every path that writes messages keeps what conversations derive from them exact (the
import, with random data, is in test_properties.py)."""

import io
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client
from django.utils import timezone

from apps.analytics import rollup
from apps.analytics.models import DailyResponseBand, HourlyTotals
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.demo.seed import Size, seed_demo
from apps.drafts.services import Delivery, draft_schedule, drafts_record_delivery
from apps.organizations.models import ChannelKind, Organization
from tests.analytics.reference import assert_derived_exact, assert_rollups_exact
from tests.factories import (
    ConversationFactory,
    MessageFactory,
    OrganizationFactory,
    ResponseDraftFactory,
)
from tests.helpers import Api

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, tzinfo=UTC)
MARCH = {"start_date": "2026-03-01", "end_date": "2026-04-01"}


def test_a_delivered_draft_answers_the_conversation(
    api: Api, org_path: str, organization: Organization
) -> None:
    conversation = ConversationFactory.create(organization=organization, start_at=T0)
    MessageFactory.create(
        conversation=conversation, direction=Direction.RECEIVED, modality=Modality.TEXT
    )
    before = api.get(org_path + "/analytics/conversations/response-rate", MARCH).json()
    assert before["numConversationsRespondedTo"] == 0

    draft = ResponseDraftFactory.create(conversation=conversation, modality=ChannelKind.TEXT)
    draft_schedule(draft, send_at=T0 + timedelta(minutes=5))
    drafts_record_delivery([(draft, Delivery(sent_at=T0 + timedelta(minutes=5, seconds=30)))])

    assert_derived_exact(organization)
    assert_rollups_exact(organization)
    conversation.refresh_from_db()
    assert conversation.response_time_us == 330_000_000
    assert api.get(org_path + "/analytics/conversations", MARCH).json()["responseTimeStats"] == {
        "responseTime": 330,
        "medianResponseTime": 330,
        "p90ResponseTime": 330,
    }


def test_an_admin_edit_keeps_the_derived_columns(
    admin_client: Client, organization: Organization
) -> None:
    conversation = ConversationFactory.create(organization=organization, start_at=T0)
    MessageFactory.create(conversation=conversation, direction=Direction.RECEIVED)
    MessageFactory.create(
        conversation=conversation, direction=Direction.SENT, sent_at=T0 + timedelta(hours=1)
    )
    earlier = timezone.localtime(T0 - timedelta(days=1))
    response = admin_client.post(
        f"/admin/conversations/conversation/{conversation.pk}/change/",
        {
            "contact": conversation.contact_id,
            "agent": conversation.agent_id or "",
            "folder": "archive",
            "is_read": "on",
            "start_at_0": earlier.strftime("%Y-%m-%d"),
            "start_at_1": earlier.strftime("%H:%M:%S"),
            # The derived columns are not in the form; posting them changes nothing.
            "first_inbound_at": "2020-01-01",
            "response_time_us": "1",
            "messages-TOTAL_FORMS": "0",
            "messages-INITIAL_FORMS": "0",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
        },
    )
    assert response.status_code == 302
    assert_derived_exact(organization)
    assert_rollups_exact(organization)
    conversation.refresh_from_db()
    assert conversation.folder == "archive"
    assert conversation.response_time_us == 3_600_000_000
    page = admin_client.get(f"/admin/conversations/conversation/{conversation.pk}/change/")
    assert '<div class="readonly">1 h</div>' in page.content.decode()  # as a duration


def test_the_demo_seed_derives_every_conversation() -> None:
    call_command("seed_demo", "--messages", "3000", stdout=io.StringIO(), stderr=io.StringIO())
    organization = Organization.objects.get()
    assert assert_derived_exact(organization) > 300
    assert_rollups_exact(organization)
    conversations = Conversation.objects.for_org(organization)
    assert conversations.exclude(first_inbound_at=None).exclude(response_time_us=None).exists()
    assert conversations.filter(first_inbound_at=None).exists()  # started by an agent
    assert conversations.exclude(first_inbound_at=None).filter(response_time_us=None).exists()


# When its draws depended on the clock, `seed_demo --messages 3000` had no conversation
# without an inbound message at 15:00 and 20:40 (UTC), and some at 02:00; and a leap day.
SEEDED_AT = [
    datetime(2026, 12, 1, 15, tzinfo=UTC),
    datetime(2026, 12, 1, 20, 40, 17, tzinfo=UTC),
    datetime(2026, 12, 1, 2, tzinfo=UTC),
    datetime(2028, 2, 29, 23, 59, 59, tzinfo=UTC),
]


def test_the_demo_seed_is_the_same_whatever_the_date() -> None:
    """A seed gives the same conversations and messages at any date (only their times
    move), each time with answered, unanswered and agent-started conversations."""
    shapes = []
    for now in SEEDED_AT:
        with mock.patch("django.utils.timezone.now", return_value=now):
            organization, _key = seed_demo(size=Size.for_messages(400))
        assert assert_derived_exact(organization) > 40
        assert_rollups_exact(organization)
        conversations = Conversation.objects.for_org(organization)
        assert not conversations.filter(start_at__gt=now).exists()
        inbound = conversations.exclude(first_inbound_at=None)
        assert inbound.exclude(response_time_us=None).exists()
        assert inbound.filter(response_time_us=None).exists()
        assert conversations.filter(first_inbound_at=None).exists()
        shapes.append(
            (
                list(
                    conversations.order_by("public_id").values_list(
                        "public_id", "first_inbound_modality", "response_time_us", "folder"
                    )
                ),
                list(
                    Message.objects.for_org(organization)
                    .order_by("public_id")
                    .values_list("public_id", "direction", "modality", "content")
                ),
            )
        )
    assert all(shape == shapes[0] for shape in shapes[1:])


def test_deleting_a_conversation_takes_back_what_it_and_its_messages_added(
    organization: Organization,
) -> None:
    kept, deleted = (
        ConversationFactory.create(organization=organization, start_at=T0 + timedelta(minutes=m))
        for m in (0, 1)
    )
    for conversation in (kept, deleted):
        MessageFactory.create(conversation=conversation, direction=Direction.RECEIVED)
        MessageFactory.create(
            conversation=conversation, direction=Direction.SENT, sent_at=T0 + timedelta(hours=2)
        )
    deleted.delete()  # its messages go first (Django's cascade), then the conversation
    assert_rollups_exact(organization)
    assert HourlyTotals.objects.for_org(organization).aggregate(
        started=Sum("conversations_started"), sent=Sum("messages_sent")
    ) == {"started": 1, "sent": 1}


def test_deleting_an_organization_deletes_its_rollups_only(organization: Organization) -> None:
    other = OrganizationFactory.create()
    for owner in (organization, other):
        conversation = ConversationFactory.create(organization=owner, start_at=T0)
        MessageFactory.create(conversation=conversation, direction=Direction.RECEIVED)
        MessageFactory.create(
            conversation=conversation, direction=Direction.SENT, sent_at=T0 + timedelta(seconds=9)
        )
    # A conversation's contact is protected, so an organization's conversations go first;
    # their rollup rows stay, at zero, until the organization goes.
    Conversation.objects.for_org(organization).delete()
    assert HourlyTotals.objects.for_org(organization).exists()
    deleted = organization.pk
    organization.delete()
    assert not HourlyTotals.objects.for_org(deleted).exists()
    assert not DailyResponseBand.objects.for_org(deleted).exists()
    assert DailyResponseBand.objects.for_org(other).exists()
    assert_rollups_exact(other)


def test_each_tiers_edges_fall_in_the_same_band_in_sql_as_in_python(
    organization: Organization,
) -> None:
    # The query expression (the analytics answers and rebuild()) against band(); the last
    # tier's width, 3,600,000,000, does not fit a 4-byte integer, as parameters bound on the
    # server (DATABASE_PREPARED_STATEMENTS) are sent unless typed as bigints.
    times = sorted(
        {t for below, _first, _width in rollup.BANDS if below for t in (below - 1, below)}
        | {0, 2**31, 101_358_000_000, 10**15}
    )
    conversation = ConversationFactory.create(organization=organization, start_at=T0)
    row = Conversation.objects.for_org(organization).filter(pk=conversation.pk)
    row.update(first_inbound_at=T0)
    for t in times:
        row.update(response_time_us=t)
        number = (
            row.annotate(number=rollup.band_expression("response_time_us"))
            .values_list("number", flat=True)
            .get()
        )
        assert number == rollup.band(t), t
    assert_rollups_exact(organization)
