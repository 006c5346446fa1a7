from django.db.models import F, Prefetch

from apps.conversations.models import Conversation, Message, TrackedLink
from apps.organizations.models import Organization
from hyperrep.tenancy.models import TenantQuerySet


def conversation_list(*, organization: Organization) -> TenantQuerySet:
    return Conversation.objects.for_org(organization).annotate(
        contact_public_id=F("contact__public_id"), agent_public_id=F("agent__public_id")
    )


def message_list(*, organization: Organization) -> TenantQuerySet:
    return (
        Message.objects.for_org(organization)
        .annotate(
            conversation_public_id=F("conversation__public_id"),
            agent_public_id=F("agent__public_id"),
        )
        .prefetch_related(
            # A plain list per message (to_attr): a related manager's cached QuerySet per row
            # costs more than the rest of rendering a page of 500 messages.
            Prefetch(
                "tracked_links",
                queryset=TrackedLink.objects.for_org(organization).order_by("id"),
                to_attr="links",
            )
        )
    )
