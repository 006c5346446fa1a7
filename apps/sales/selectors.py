from django.db.models import F, OuterRef, Prefetch, Subquery

from apps.contacts.models import Contact
from apps.conversations.models import Conversation
from apps.organizations.models import Organization
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatusChange
from hyperrep.tenancy.models import TenantQuerySet


def sale_list(*, organization: Organization) -> TenantQuerySet:
    """The organization's sales as the API shows them: draft sales never appear."""
    return sale_records(organization=organization).filter(is_draft=False)


def sale_records(*, organization: Organization) -> TenantQuerySet:
    """Every sale of the organization, drafts included, with what renders it: three queries
    per page whatever its size (contacts, conversations, status history)."""
    return (
        Sale.objects.for_org(organization)
        .annotate(company_public_id=F("company__public_id"), owner_public_id=F("owner__public_id"))
        .prefetch_related(
            # Each link's public id by a lookup of its row's primary key, not a join: for the
            # links of a page (a few hundred), PostgreSQL would hash the whole contacts table
            # to join them (7 ms of a 20,000-contact organization, growing with it); the
            # lookups take 0.4 ms (bench/README.md, "Lists against their floors").
            Prefetch(
                "sale_contacts",
                queryset=SaleContact.objects.for_org(organization)
                .annotate(contact_public_id=_public_id_of(Contact, "contact_id", organization))
                .order_by("id"),
                to_attr="contact_links",
            ),
            Prefetch(
                "sale_conversations",
                queryset=SaleConversation.objects.for_org(organization)
                .annotate(
                    conversation_public_id=_public_id_of(
                        Conversation, "conversation_id", organization
                    )
                )
                .order_by("id"),
                to_attr="conversation_links",
            ),
            Prefetch(
                "status_changes",
                queryset=SaleStatusChange.objects.for_org(organization).order_by(
                    "changed_at", "id"
                ),
                to_attr="status_history",
            ),
        )
    )


def _public_id_of(
    model: type[Contact | Conversation], column: str, organization: Organization
) -> Subquery:
    """The public id of the row `column` points at, within the organization."""
    rows = model.objects.for_org(organization).filter(pk=OuterRef(column))
    return Subquery(rows.values("public_id"))
