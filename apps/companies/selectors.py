from django.db.models import F

from apps.companies.models import Company
from apps.organizations.models import Organization
from hyperrep.tenancy.models import TenantQuerySet


def company_list(*, organization: Organization) -> TenantQuerySet:
    return Company.objects.for_org(organization).annotate(agent_public_id=F("agent__public_id"))
