from typing import Any

from django.db import transaction

from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.organizations.models import Organization


@transaction.atomic
def contact_create(
    *,
    organization: Organization,
    name: str | None = None,
    email: str | None = None,
    phone_number: str | None = None,
    company_id: str | None = None,
    company_role: str | None = None,
    custom_fields: dict[str, Any] | None = None,
) -> Contact:
    company = None
    if company_id is not None:
        company = Company.objects.for_org(organization).resolve_reference(company_id, "company_id")
    return Contact.objects.create(
        organization=organization,
        name=name,
        email=email,
        phone_number=phone_number,
        company=company,
        company_role=company_role,
        custom_fields=custom_fields or {},
    )
