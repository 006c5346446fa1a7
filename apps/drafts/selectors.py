from datetime import datetime

from django.db.models import F

from apps.conversations.models import Conversation, Message
from apps.drafts.models import Draft, DraftStatus, MessageDraft, ResponseDraft
from apps.organizations.models import Channel, ChannelKind, Organization
from hyperrep.tenancy.models import TenantQuerySet


def channel_is_enabled(*, organization: Organization, kind: str) -> bool:
    return Channel.objects.for_org(organization).filter(kind=kind, enabled=True).exists()


def conversation_reply_modality(
    *, organization: Organization, conversation: Conversation
) -> str | None:
    """The channel a reply goes out on: that of the latest email or text message, else email
    when the contact has an address, else text when it has a phone number."""
    latest = (
        Message.objects.for_org(organization)
        .filter(conversation=conversation, modality__in=ChannelKind.values)
        .order_by("-sent_at", "-id")
        .values_list("modality", flat=True)
        .first()
    )
    if latest is not None:
        return latest
    if conversation.contact.email:
        return ChannelKind.EMAIL
    if conversation.contact.phone_number:
        return ChannelKind.TEXT
    return None


def message_draft_list(*, organization: Organization) -> TenantQuerySet:
    return MessageDraft.objects.for_org(organization).annotate(
        conversation_folder=F("conversation__folder")
    )


def response_draft_list(*, organization: Organization) -> TenantQuerySet:
    return ResponseDraft.objects.for_org(organization).annotate(
        conversation_public_id=F("conversation__public_id")
    )


def drafts_due(*, organization: Organization, now: datetime, limit: int = 100) -> list[Draft]:
    """The organization's scheduled drafts whose time has come, message and response drafts
    together, longest-waiting first: what the delivery worker sends next. Each comes with its
    conversation and contact, which say where it goes."""
    due: list[Draft] = []
    for model in (MessageDraft, ResponseDraft):
        due.extend(
            model.objects.for_org(organization)
            .filter(status=DraftStatus.SCHEDULED, scheduled_send_at__lte=now)
            .select_related("conversation__contact")
            .order_by("scheduled_send_at", "id")[:limit]
        )
    due.sort(key=lambda draft: draft.scheduled_send_at or now)
    return due[:limit]
