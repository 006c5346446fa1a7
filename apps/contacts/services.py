from typing import Any

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Lower

from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.organizations.models import Organization
from apps.webhooks.events import emit
from hyperrep import phones
from hyperrep.tenancy.locks import take_turns


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
    contact = Contact.objects.create(
        organization=organization,
        name=name,
        email=email,
        phone_number=phone_number,
        company=company,
        company_role=company_role,
        custom_fields=custom_fields or {},
    )
    emit(organization, "contact.created", contact)
    return contact


@transaction.atomic
def contact_find_or_create(
    *,
    organization: Organization,
    email: str | None = None,
    phone_number: str | None = None,
    name: str | None = None,
) -> Contact:
    """The organization's oldest contact with this email (case-insensitively), else its
    oldest with this number (in E.164); created with these values when there is neither.
    Concurrent calls for one address or number take turns, so they find one contact rather
    than making one each."""
    contacts = Contact.objects.for_org(organization).order_by("created_at", "id")
    e164 = phones.to_e164(phone_number)
    # Always in this order (email, then number), so two callers never wait on each other.
    if email is not None:
        take_turns(organization, f"contact-email:{email.lower()}")
    if e164 is not None:
        take_turns(organization, f"contact-phone:{e164}")
    found: Contact | None = None
    if email is not None:
        # Lower() on both sides, as ContactFilter does, so (organization, lower(email)) serves it.
        found = (
            contacts.alias(email_lower=Lower("email"))
            .filter(email_lower=Lower(Value(email)))
            .first()
        )
    if found is None and e164 is not None:
        found = contacts.filter(phone_e164=e164).first()
    if found is not None:
        return found
    return contact_create(
        organization=organization, name=name, email=email, phone_number=phone_number
    )
