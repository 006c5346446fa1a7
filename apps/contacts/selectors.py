from django.db.models import F

from apps.contacts.models import Contact
from apps.organizations.models import Organization
from hyperrep.tenancy.models import TenantQuerySet


def contact_list(*, organization: Organization) -> TenantQuerySet:
    return Contact.objects.for_org(organization).annotate(company_public_id=F("company__public_id"))
