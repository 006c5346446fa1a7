"""Writing drafts, and recording what delivery did with them.

A draft that is scheduled is due (its `next_attempt_at`), and the worker delivers it
(apps/delivery), recording the outcomes through `drafts_record_delivery` or
`drafts_record_failure` on the rows it holds locked. Every status change goes through the
model's state machine, so a draft is never recorded as delivered twice.
"""

import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.contacts.services import contact_find_or_create
from apps.conversations.models import Conversation, Direction, Message, TrackedLink
from apps.conversations.services import conversations_touch
from apps.drafts.models import (
    Draft,
    DraftModality,
    DraftStatus,
    IllegalTransition,
    MessageDraft,
    ResponseDraft,
)
from apps.drafts.selectors import channel_is_enabled, conversation_reply_modality
from apps.organizations.models import Organization
from apps.webhooks.events import emit
from hyperrep.bulk import update_each
from hyperrep.errors import InvalidValue, ValidationFailed
from hyperrep.outbox.claims import OUTBOX_FIELDS

FOLDER_SLUG_MAX_LENGTH = Conversation._meta.get_field("folder").max_length or 100
NO_REPLY_CHANNEL = (
    "Conversation has no email or text channel to reply on: it has no email or text "
    "messages and its contact has no email address or phone number"
)


def folder_slug(name: str) -> str:
    """`Sales Follow-up` -> `sales-follow-up`: accents dropped, lower-case, every run of other
    characters one `-`, none at either end. Empty when the name has no letter or digit."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:FOLDER_SLUG_MAX_LENGTH].rstrip("-")


def _check_flags(*, autosend_draft: bool, add_notification: bool) -> None:
    if autosend_draft and add_notification:
        raise InvalidValue("autosend_draft and add_notification cannot both be true")


def _check_copies(*, modality: str, cc_emails: Sequence[str], bcc_emails: Sequence[str]) -> None:
    if modality != DraftModality.EMAIL and (cc_emails or bcc_emails):
        raise InvalidValue("cc_emails and bcc_emails apply to email only")


def _check_channel(*, organization: Organization, modality: str) -> None:
    if not channel_is_enabled(organization=organization, kind=modality):
        raise InvalidValue(f"{modality} is not configured for this organization")


def _delivery_fields(*, autosend_draft: bool, now: datetime) -> dict[str, object]:
    """Autosend schedules the draft for now; otherwise it waits for review."""
    if autosend_draft:
        return {
            "status": DraftStatus.SCHEDULED,
            "scheduled_to_send": True,
            "scheduled_send_at": now,
            "next_attempt_at": now,  # due at once: the worker picks it up
        }
    return {"status": DraftStatus.PENDING, "scheduled_to_send": False, "scheduled_send_at": None}


@transaction.atomic
def message_draft_create(
    *,
    organization: Organization,
    modality: str,
    subject: str | None = None,
    body_html: str | None = None,
    to_user_name: str | None = None,
    to_email: str | None = None,
    to_phone_number: str | None = None,
    cc_emails: Sequence[str] = (),
    bcc_emails: Sequence[str] = (),
    autosend_draft: bool = False,
    add_notification: bool = False,
    folder: str = "Inbox",
) -> MessageDraft:
    """A draft that starts a new conversation with the contact it names (found, or created)."""
    _check_flags(autosend_draft=autosend_draft, add_notification=add_notification)
    _check_copies(modality=modality, cc_emails=cc_emails, bcc_emails=bcc_emails)
    for name, value in (("subject", subject), ("to_user_name", to_user_name)):
        if value and ("\r" in value or "\n" in value):  # an email header: one line
            raise ValidationFailed("must be one line", field=name)
    _check_channel(organization=organization, modality=modality)
    now = timezone.now()
    contact = contact_find_or_create(
        organization=organization, email=to_email, phone_number=to_phone_number, name=to_user_name
    )
    conversation = Conversation.objects.create(
        organization=organization,
        contact=contact,
        agent=None,
        folder=folder_slug(folder),
        is_read=True,  # our own outbound message: nothing in it is unread
        start_at=now,
        last_activity_at=now,
    )
    emit(organization, "conversation.created", conversation)
    return MessageDraft.objects.create(
        organization=organization,
        conversation=conversation,
        contact=contact,
        modality=modality,
        subject=subject,
        body_html=body_html,
        to_user_name=to_user_name,
        to_email=to_email,
        to_phone_number=to_phone_number,
        cc_emails=list(cc_emails),
        bcc_emails=list(bcc_emails),
        add_notification=add_notification,
        folder=folder,
        created_at=now,
        updated_at=now,
        **_delivery_fields(autosend_draft=autosend_draft, now=now),
    )


@transaction.atomic
def response_draft_create(
    *,
    organization: Organization,
    conversation: Conversation,
    body_html: str,
    cc_emails: Sequence[str] = (),
    bcc_emails: Sequence[str] = (),
    autosend_draft: bool = False,
    add_notification: bool = False,
) -> ResponseDraft:
    """The conversation's new response draft. A pending one it replaces is kept as
    `superseded`, so the history holds every version."""
    # Concurrent requests for one conversation take turns here (PostgreSQL; SQLite's IMMEDIATE
    # transactions already serialize writers). Without the lock both would find the same
    # pending draft, and the second insert would break the one-pending unique index: a 500.
    conversation = (
        Conversation.objects.for_org(organization)
        .select_for_update(of=("self",))
        .select_related("contact")
        .get(pk=conversation.pk)
    )
    _check_flags(autosend_draft=autosend_draft, add_notification=add_notification)
    modality = conversation_reply_modality(organization=organization, conversation=conversation)
    if modality is None:
        raise InvalidValue(NO_REPLY_CHANNEL)
    _check_copies(modality=modality, cc_emails=cc_emails, bcc_emails=bcc_emails)
    _check_channel(organization=organization, modality=modality)
    now = timezone.now()
    pending = (
        ResponseDraft.objects.for_org(organization)
        .filter(conversation=conversation, status=DraftStatus.PENDING)
        .first()
    )
    if pending is not None:
        pending.move_to(DraftStatus.SUPERSEDED)
        pending.save(update_fields=["status", "updated_at"])
    return ResponseDraft.objects.create(
        organization=organization,
        conversation=conversation,
        modality=modality,
        body_html=body_html,
        cc_emails=list(cc_emails),
        bcc_emails=list(bcc_emails),
        add_notification=add_notification,
        created_at=now,
        updated_at=now,
        **_delivery_fields(autosend_draft=autosend_draft, now=now),
    )


def _locked(draft: Draft) -> Draft:
    """The draft's row, locked for the rest of the transaction."""
    return type(draft).objects.for_org(draft.organization_id).select_for_update().get(pk=draft.pk)


@transaction.atomic
def draft_schedule(draft: Draft, *, send_at: datetime) -> None:
    """Approve a pending draft, or retry a failed one: it is delivered at `send_at`, with a
    fresh budget of attempts."""
    locked = _locked(draft)
    if locked.sent_at is not None:
        # Sent, then reported undelivered: its message is in the conversation already, and
        # a draft is never two messages. A new draft sends it again.
        raise IllegalTransition("sent once already: write a new draft to send it again")
    locked.move_to(DraftStatus.SCHEDULED)
    locked.scheduled_to_send = True
    locked.scheduled_send_at = locked.next_attempt_at = send_at
    locked.attempts, locked.last_error = 0, None
    locked.claimed_until = locked.claimed_by = None
    fields = ["status", "scheduled_to_send", "scheduled_send_at", "updated_at", *OUTBOX_FIELDS]
    locked.save(update_fields=fields)
    for name in fields:
        setattr(draft, name, getattr(locked, name))


@dataclass(frozen=True)
class Delivery:
    """What the channel reported of a draft it delivered, and what went out."""

    sent_at: datetime
    subject: str | None = None
    email_message_id: str | None = None
    provider_message_id: str | None = None
    tracked_links: Sequence[tuple[str, str]] = ()


def drafts_record_delivery(delivered: Sequence[tuple[Draft, Delivery]]) -> list[Message]:
    """The channel delivered these drafts: each is `sent`, and it is now a sent message of
    its conversation (with the public id the draft kept for it, and the links its email
    tracks), whose last activity moves with it. The caller (the outbox) holds the drafts'
    rows locked in its transaction; a draft delivered already is an IllegalTransition.
    A batch is a few statements, whatever its size."""
    messages = []
    for draft, delivery in delivered:
        draft.move_to(DraftStatus.SENT)
        draft.sent_at = delivery.sent_at
        draft.provider_message_id = delivery.provider_message_id
        is_email = draft.modality == DraftModality.EMAIL
        messages.append(
            Message(
                organization_id=draft.organization_id,
                conversation_id=draft.conversation_id,
                public_id=draft.message_public_id,
                agent=None,  # the API wrote it, not one of the organization's agents
                modality=draft.modality,
                direction=Direction.SENT,
                subject=delivery.subject,
                content=draft.body_html,
                sent_at=delivery.sent_at,
                drafted_at=draft.created_at,
                email_message_id=delivery.email_message_id if is_email else None,
                cc_emails=draft.cc_emails if is_email else [],
                bcc_emails=draft.bcc_emails if is_email else [],
            )
        )
    _save_drafts([draft for draft, _ in delivered], ["sent_at", "provider_message_id"])
    Message.objects.bulk_create(messages)
    TrackedLink.objects.bulk_create(
        TrackedLink(
            organization_id=message.organization_id, message=message, public_id=id_, url=url
        )
        for message, (_draft, delivery) in zip(messages, delivered, strict=True)
        for id_, url in delivery.tracked_links
    )
    by_organization: dict[int, set[int]] = defaultdict(set)
    for draft, _delivery in delivered:
        by_organization[draft.organization_id].add(draft.conversation_id)
    for organization_id, conversation_ids in sorted(by_organization.items()):
        conversations_touch(
            Conversation.objects.for_org(organization_id).filter(pk__in=sorted(conversation_ids))
        )
    organizations = Organization.objects.in_bulk(sorted(by_organization))
    for organization_id in sorted(by_organization):
        sent = [m for m in messages if m.organization_id == organization_id]
        emit(organizations[organization_id], "message.sent", *sent)
    return messages


def drafts_sent_as(
    organization: Organization,
    *,
    public_id: str | None = None,
    provider_message_id: str | None = None,
) -> list[Draft]:
    """The organization's sent (or since failed) drafts, of either model, whose message has
    this public id or that the provider calls by this id; locked, for a report on them."""
    found: list[Draft] = []
    for model in (ResponseDraft, MessageDraft):
        drafts = model.objects.for_org(organization).exclude(sent_at=None)
        if public_id is not None:
            drafts = drafts.filter(message_public_id=public_id)
        if provider_message_id is not None:
            drafts = drafts.filter(provider_message_id=provider_message_id)
        found += drafts.select_for_update().order_by("pk")
    return found


def draft_report_undelivered(draft: Draft, *, status: str, reason: str | None) -> None:
    """The provider reported on a sent draft (`status`); with a `reason`, it never arrived:
    the draft is `failed` with that reason. Its message stays. A final report is not
    overwritten by a late one that is not (Twilio's callbacks can come out of order)."""
    final = ("delivered", "undelivered", "failed", "bounced")
    if draft.delivery_status in final and status not in final:
        return
    draft.delivery_status = status
    fields = ["delivery_status"]
    failed = reason is not None and draft.status == DraftStatus.SENT
    if failed:
        draft.move_to(DraftStatus.FAILED)
        draft.last_error = reason
        fields += ["status", "updated_at", "last_error"]
    elif reason is not None:
        draft.last_error = reason
        fields.append("last_error")
    draft.save(update_fields=fields)
    if failed:
        emit(draft.organization, "draft.failed", draft)


def drafts_record_failure(drafts: Sequence[Draft]) -> None:
    """The channel could not deliver these drafts, for good (the outbox keeps the reason).
    Each may be scheduled again (`draft_schedule`). The caller holds the rows locked."""
    for draft in drafts:
        if draft.status != DraftStatus.SCHEDULED:  # (a sent one fails by a report alone)
            raise IllegalTransition(f"{draft.status} -> {DraftStatus.FAILED}")
        draft.move_to(DraftStatus.FAILED)
    _save_drafts(drafts, [])
    by_organization = sorted({d.organization_id for d in drafts})
    organizations = Organization.objects.in_bulk(by_organization)
    for organization_id in by_organization:
        failed = [d for d in drafts if d.organization_id == organization_id]
        emit(organizations[organization_id], "draft.failed", *failed)


def _save_drafts(drafts: Sequence[Draft], fields: list[str]) -> None:
    """Save these fields and the status change of drafts (of either model), a statement a
    model."""
    by_model: dict[type[Draft], list[Draft]] = defaultdict(list)
    for draft in drafts:
        by_model[type(draft)].append(draft)
    for rows in by_model.values():
        update_each(rows, ["status", "updated_at", *fields])
