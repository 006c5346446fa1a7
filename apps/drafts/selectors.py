from django.db.models import F

from apps.conversations.models import Conversation, Message
from apps.drafts.models import DraftModality, MessageDraft, ResponseDraft
from apps.organizations.models import Channel, Organization
from hyperrep.tenancy.models import TenantQuerySet


def channel_is_enabled(*, organization: Organization, kind: str) -> bool:
    """Whether drafts of this kind can go out: its channel is enabled and has a transport."""
    channels = Channel.objects.for_org(organization).filter(kind=kind, enabled=True)
    return channels.exclude(transport_sealed="").exists()


def conversation_reply_modality(
    *, organization: Organization, conversation: Conversation
) -> str | None:
    """The channel a reply goes out on: that of the latest email or text message, else email
    when the contact has an address, else text when it has a phone number."""
    latest = (
        Message.objects.for_org(organization)
        .filter(conversation=conversation, modality__in=DraftModality.values)
        .order_by("-sent_at", "-id")
        .values_list("modality", flat=True)
        .first()
    )
    if latest is not None:
        return latest
    if conversation.contact.email:
        return DraftModality.EMAIL
    if conversation.contact.phone_number:
        return DraftModality.TEXT
    return None


def message_draft_list(*, organization: Organization) -> TenantQuerySet:
    return MessageDraft.objects.for_org(organization).annotate(
        conversation_folder=F("conversation__folder")
    )


def response_draft_list(*, organization: Organization) -> TenantQuerySet:
    return ResponseDraft.objects.for_org(organization).annotate(
        conversation_public_id=F("conversation__public_id")
    )
