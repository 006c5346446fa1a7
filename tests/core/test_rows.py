"""Rows (hyperrep/rows.py): the same SQL as instances, rendered the same by the same
serializers, their children in one query per relation."""

from typing import Any

import pytest
from django.db import connection
from django.db.models import Prefetch
from django.test.utils import CaptureQueriesContext

from apps.conversations.models import Message, TrackedLink
from apps.conversations.selectors import message_list
from apps.conversations.serializers import MessageSerializer
from apps.drafts.models import DraftStatus
from apps.drafts.selectors import response_draft_list
from apps.drafts.serializers import ResponseDraftSerializer
from apps.organizations.models import Organization
from apps.sales.selectors import sale_list
from apps.sales.serializers import SaleSerializer
from tests.factories import (
    ConversationFactory,
    MessageFactory,
    ResponseDraftFactory,
    SaleContactFactory,
    SaleConversationFactory,
    SaleFactory,
    TrackedLinkFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def filled(organization: Organization) -> None:
    conversation = ConversationFactory.create(organization=organization)
    for number in range(3):
        message = MessageFactory.create(
            conversation=conversation, modality="form" if number == 1 else "email"
        )
        TrackedLinkFactory.create_batch(number, message=message)  # none, one, two
    for number in range(3):
        sale = SaleFactory.create(organization=organization)
        SaleContactFactory.create_batch(number, sale=sale)
        SaleConversationFactory.create_batch(2 - number, sale=sale)
    ResponseDraftFactory.create(
        conversation=conversation, status=DraftStatus.FAILED, last_error="mailbox full"
    )
    ResponseDraftFactory.create(conversation=conversation, status=DraftStatus.SUPERSEDED)


CASES = [
    (message_list, MessageSerializer, ("sent_at", "id")),
    (sale_list, SaleSerializer, ("-created_at", "-id")),
    (response_draft_list, ResponseDraftSerializer, ("-created_at", "-id")),
]


def captured(queryset: Any) -> tuple[list[Any], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        found = list(queryset)
    return found, [query["sql"] for query in queries.captured_queries]


@pytest.mark.usefixtures("filled")
@pytest.mark.parametrize(("selector", "serializer", "ordering"), CASES)
def test_rows_render_as_instances_do_from_the_same_page_query(
    organization: Organization, selector: Any, serializer: Any, ordering: tuple[str, ...]
) -> None:
    queryset = selector(organization=organization).order_by(*ordering)
    instances, instance_sql = captured(queryset)
    rows, row_sql = captured(queryset.rows())
    assert rows
    assert not isinstance(rows[0], Message)
    assert row_sql[0] == instance_sql[0]  # the page: the same SQL, byte for byte
    assert len(row_sql) == len(instance_sql)  # a query per prefetched relation, no more
    assert serializer(rows, many=True).data == serializer(instances, many=True).data
    assert [row.pk for row in rows] == [instance.pk for instance in instances]


@pytest.mark.usefixtures("filled")
def test_a_pages_children_come_in_one_query_with_its_ids_as_one_parameter(
    organization: Organization,
) -> None:
    rows, sql = captured(message_list(organization=organization).order_by("id").rows())
    assert [len(row.links) for row in rows] == [0, 1, 2]
    assert [row.is_form_request for row in rows] == [False, True, False]  # a model property
    links = sql[1]
    if connection.vendor == "postgresql":
        assert '"conversations_trackedlink"."message_id" = ANY(' in links
    else:
        assert "json_each" in links
    assert " IN (" not in links.replace("IN (SELECT value FROM json_each", "")


def test_an_empty_page_sends_no_child_query(organization: Organization) -> None:
    rows, sql = captured(message_list(organization=organization).rows())
    assert rows == []
    assert len(sql) == 1


def test_rows_take_only_prefetches_they_can_fill(organization: Organization) -> None:
    MessageFactory.create(conversation=ConversationFactory.create(organization=organization))
    messages = Message.objects.for_org(organization)
    with pytest.raises(TypeError, match="to_attr"):
        list(messages.prefetch_related("tracked_links").rows())
    with pytest.raises(TypeError, match="reverse foreign keys"):
        list(
            messages.prefetch_related(
                Prefetch(
                    "conversation",
                    queryset=TrackedLink.objects.for_org(organization),
                    to_attr="x",
                )
            ).rows()
        )
