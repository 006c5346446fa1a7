from typing import Any

from django.db import transaction

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.organizations.models import Organization
from apps.webhooks.events import emit


@transaction.atomic
def company_create(
    *,
    organization: Organization,
    name: str,
    domain: str | None = None,
    address: str | None = None,
    custom_fields: dict[str, Any] | None = None,
    agent_id: str | None = None,
) -> Company:
    agent = None
    if agent_id is not None:
        agent = Agent.objects.for_org(organization).resolve_reference(agent_id, "agent_id")
    company = Company.objects.create(
        organization=organization,
        name=name,
        domain=domain,
        address=address or None,
        custom_fields=custom_fields or {},
        agent=agent,
    )
    emit(organization, "company.created", company)
    return company
