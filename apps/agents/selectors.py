from apps.agents.models import Agent
from apps.organizations.models import Organization
from hyperrep.tenancy.models import TenantQuerySet


def agent_list(*, organization: Organization) -> TenantQuerySet:
    return Agent.objects.for_org(organization).only("public_id", "name", "email")
