"""A tenant with more rows of every list than one, every relation filled in."""

from typing import Any

import pytest

from apps.drafts.models import DraftStatus
from apps.organizations.models import Organization
from apps.webhooks.models import Delivery
from apps.webhooks.services import endpoint_create
from hyperrep import ids
from tests.factories import (
    AgentFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    ResponseDraftFactory,
    SaleContactFactory,
    SaleConversationFactory,
    SaleFactory,
    TrackedLinkFactory,
)
from tests.security.tenants import make_tenant


@pytest.fixture
def filled_tenant(organization: Organization) -> dict[str, Any]:
    tenant = make_tenant(organization)
    for _ in range(4):  # more rows of every list, with every relation filled in
        agent = AgentFactory.create(organization=organization)
        company = CompanyFactory.create(organization=organization, agent=agent)
        ContactFactory.create(organization=organization, company=company)
        conversation = ConversationFactory.create(
            organization=organization, contact=tenant["contact_id"], agent=tenant["agent_id"]
        )
        message = MessageFactory.create(conversation=tenant["conversation_id"])
        TrackedLinkFactory.create_batch(2, message=message)
        sale = SaleFactory.create(organization=organization, owner=tenant["agent_id"])
        SaleContactFactory.create(sale=sale, contact=tenant["contact_id"])
        SaleConversationFactory.create(sale=sale, conversation=conversation)
        ResponseDraftFactory.create(
            conversation=tenant["conversation_id"], status=DraftStatus.SUPERSEDED
        )
        endpoint_create(organization=organization, url="https://93.184.216.34/", events=["*"])
        Delivery.objects.create(
            organization=organization,
            endpoint=tenant["endpoint_id"],
            event_id=ids.mint("evt"),
            event_type="contact.created",
            body="{}",
        )
    return tenant
