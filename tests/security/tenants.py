"""One of everything for an organization, and the ids a route's path takes from it: what the
isolation matrix, the malformed-input tests and the query counts build their requests from."""

from typing import Any

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
from tests.security.routes import Route


def make_tenant(organization: Organization) -> dict[str, Any]:
    """One of everything, for one organization: URL kwarg -> object."""
    agent = AgentFactory.create(organization=organization)
    company = CompanyFactory.create(organization=organization, agent=agent)
    contact = ContactFactory.create(organization=organization, company=company)
    conversation = ConversationFactory.create(
        organization=organization, contact=contact, agent=agent
    )
    message = MessageFactory.create(conversation=conversation)
    TrackedLinkFactory.create(message=message)
    sale = SaleFactory.create(organization=organization, company=company, owner=agent)
    SaleContactFactory.create(sale=sale, contact=contact)
    SaleConversationFactory.create(sale=sale, conversation=conversation)
    response_draft = ResponseDraftFactory.create(conversation=conversation)
    endpoint, _secret = endpoint_create(
        organization=organization, url="https://93.184.216.34/hook", events=["*"]
    )
    delivery = Delivery.objects.create(
        organization=organization,
        endpoint=endpoint,
        event_id=ids.mint("evt"),
        event_type="contact.created",
        body="{}",
    )
    return {
        "endpoint_id": endpoint,
        "delivery_id": delivery,
        "agent_id": agent,
        "company_id": company,
        "contact_id": contact,
        "conversation_id": conversation,
        "message_id": message,
        "sale_id": sale,
        "response_draft": response_draft,
    }


def ids_of(tenant: dict[str, Any], route: Route) -> dict[str, str]:
    missing = [name for name in route.kwargs if name not in tenant]
    assert not missing, f"{route.template}: teach make_tenant() to build {missing}"
    return {name: tenant[name].public_id for name in route.kwargs}
