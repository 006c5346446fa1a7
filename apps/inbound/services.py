"""Turning a stored event into what it means, in one transaction: a `received` message of
the organization (its contact found or created, its conversation found or started, the
conversation unread and its derived columns and rollups moved), or a sent draft settled
(a bounce, a text the carrier could not deliver).

Everything is looked up within the channel's organization, whatever an email's headers
say: a forged `In-Reply-To` naming another organization's message finds nothing there, and
the email starts a conversation of its own.
"""

import logging
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import parse_qsl

from django.db import transaction

from apps.contacts.models import Contact
from apps.contacts.services import contact_find_or_create
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.conversations.services import conversations_touch
from apps.drafts.services import draft_report_undelivered, drafts_sent_as
from apps.inbound.email import InboundEmail, parse_email
from apps.inbound.form import parse_form
from apps.inbound.models import EventStatus, InboundEvent, Source
from apps.inbound.text import FAILED_STATUSES, parse_status, parse_text
from apps.webhooks.events import emit
from hyperrep.outbox.claims import Transient
from hyperrep.tenancy.locks import take_turns

log = logging.getLogger("hyperrep.inbound")
# A text joins the contact's latest conversation while its latest message is a text this
# recent; after that, it starts a new one.
TEXT_THREAD = timedelta(days=7)
# Status callbacks can come before the worker has recorded the send they report on: a
# callback whose MessageSid no sent text has yet is tried again, this many times.
UNKNOWN_SID_ATTEMPTS = 4


@transaction.atomic
def event_process(event_pk: int) -> str | None:
    """Process the event (locked for it) unless that is done already: a worker that died
    after processing, before recording, leaves the next one nothing to do. Returns why an
    event was ignored (the outbox records it as the event's `last_error`)."""
    event = (
        InboundEvent.objects.unscoped()  # the worker serves every organization
        # Its own row only: locking the channel and organization too would make every
        # request's insert (whose foreign keys check them at commit) wait for this one.
        .select_for_update(of=("self",))
        .select_related("channel", "organization")
        .get(pk=event_pk)
    )
    if event.status == EventStatus.RECEIVED:
        PROCESSORS[event.source](event)
        event.save(update_fields=["status", "message", "last_error"])
    return event.last_error if event.status == EventStatus.IGNORED else None


def body_of(event: InboundEvent) -> bytes:
    return bytes(event.body)


def fields_of(event: InboundEvent) -> dict[str, str]:
    """The form fields of a Twilio webhook (the last value of a field given twice)."""
    return dict(parse_qsl(body_of(event).decode("utf-8", "replace"), keep_blank_values=True))


# -- email ----------------------------------------------------------------------------------


def process_email(event: InboundEvent) -> None:
    parsed = parse_email(body_of(event))
    organization = event.organization
    if parsed.bounce is not None:
        _settle_bounce(event, parsed)
        return
    conversation = _email_thread(event, parsed)
    if conversation is None:
        contact = contact_find_or_create(
            organization=organization, email=parsed.from_email, name=parsed.from_name
        )
        conversation = _start(event, contact)
    event.message = _receive(
        event,
        conversation,
        modality=Modality.EMAIL,
        subject=parsed.subject,
        content=parsed.content,
        email_message_id=parsed.message_id,
        cc_emails=parsed.cc,
    )
    event.status = EventStatus.PROCESSED
    if parsed.attachments:
        log.info("inbound email %s: %s attachments not kept", event.pk, parsed.attachments)


def _email_thread(event: InboundEvent, parsed: InboundEmail) -> Conversation | None:
    """The conversation whose emails it answers (In-Reply-To, then References newest
    first), else the one its reply+<token>@ address names; None: a new one."""
    conversations = Conversation.objects.for_org(event.organization_id)
    if parsed.answers:
        # Stored ids may have lost their angle brackets (an import): both forms are looked up.
        wanted = parsed.answers + [m.strip("<>") for m in parsed.answers]
        found: dict[str, int] = {}
        rows = (
            Message.objects.for_org(event.organization_id)
            .filter(email_message_id__in=wanted)
            .order_by("-sent_at", "-id")
            .values_list("email_message_id", "conversation_id")
        )
        for message_id, conversation_id in rows:
            found.setdefault((message_id or "").strip("<>"), conversation_id)
        for message_id in parsed.answers:
            if message_id.strip("<>") in found:
                return conversations.get(pk=found[message_id.strip("<>")])
    tokens = parsed.reply_tokens(event.channel.reply_domain)
    if tokens:
        return conversations.filter(reply_token__in=tokens).order_by("-last_activity_at").first()
    return None


def _settle_bounce(event: InboundEvent, parsed: InboundEmail) -> None:
    bounce = parsed.bounce
    assert bounce is not None
    sent = (
        Message.objects.for_org(event.organization_id)
        .filter(email_message_id=bounce.message_id, direction=Direction.SENT)
        .first()
        if bounce.message_id
        else None
    )
    drafts = drafts_sent_as(event.organization, public_id=sent.public_id) if sent else []
    if not bounce.failed or not drafts:
        event.status = EventStatus.IGNORED
        event.last_error = (
            f"a delivery status notification ({bounce.reason}) about "
            f"{bounce.message_id or 'an unknown email'}, "
            + ("not a failure" if not bounce.failed else "which no sent draft has")
        )
        return
    for draft in drafts:
        draft_report_undelivered(draft, status="bounced", reason=bounce.reason)
    event.message = sent
    event.status = EventStatus.PROCESSED


# -- text -----------------------------------------------------------------------------------


def process_text(event: InboundEvent) -> None:
    parsed = parse_text(fields_of(event))
    organization = event.organization
    contact = contact_find_or_create(organization=organization, phone_number=parsed.from_number)
    # One thread per number at a time: two texts from it never start two conversations.
    take_turns(organization, f"text-thread:{parsed.from_number}")
    latest = (  # the one started last: a probe of conversation_by_contact
        Conversation.objects.for_org(organization)
        .filter(contact=contact)
        .order_by("-start_at", "-id")
        .first()
    )
    conversation = None
    if latest is not None:
        last = (
            Message.objects.for_org(organization)
            .filter(conversation=latest)
            .order_by("-sent_at", "-id")
            .values_list("modality", "sent_at")
            .first()
        )
        if last and last[0] == Modality.TEXT and last[1] >= event.received_at - TEXT_THREAD:
            conversation = latest
    if conversation is None:
        conversation = _start(event, contact)
    event.message = _receive(event, conversation, modality=Modality.TEXT, content=parsed.body)
    event.status = EventStatus.PROCESSED
    if parsed.media:
        log.info("inbound text %s: %s media not kept", event.pk, parsed.media)


def process_text_status(event: InboundEvent) -> None:
    status = parse_status(fields_of(event))
    drafts = drafts_sent_as(event.organization, provider_message_id=status.sid)
    if not drafts:
        if event.attempts + 1 < UNKNOWN_SID_ATTEMPTS:
            raise Transient(f"no sent text has MessageSid {status.sid} (yet)")
        event.status = EventStatus.IGNORED
        event.last_error = f"no sent text has MessageSid {status.sid}"
        return
    reason = None
    if status.status in FAILED_STATUSES:
        code = f" (error {status.error_code})" if status.error_code else ""
        reason = f"Twilio: {status.status}{code}"
    for draft in drafts:
        draft_report_undelivered(draft, status=status.status, reason=reason)
    event.status = EventStatus.PROCESSED


# -- form -----------------------------------------------------------------------------------


def process_form(event: InboundEvent) -> None:
    submission = parse_form(body_of(event), event.content_type)
    if submission.spam:
        event.status = EventStatus.SPAM
        return
    contact = contact_find_or_create(
        organization=event.organization,
        email=submission.email,
        phone_number=submission.phone,
        name=submission.name,
    )
    event.message = _receive(
        event,
        _start(event, contact),
        modality=Modality.FORM,
        content=submission.as_text(),
        form_request_body=submission.fields,
    )
    event.status = EventStatus.PROCESSED


# -- what every message is ---------------------------------------------------------------


def _start(event: InboundEvent, contact: Contact) -> Conversation:
    conversation = Conversation.objects.create(
        organization_id=event.organization_id,
        contact=contact,
        folder="inbox",
        is_read=False,
        start_at=event.received_at,
        last_activity_at=event.received_at,
    )
    emit(event.organization, "conversation.created", conversation)
    return conversation


def _receive(event: InboundEvent, conversation: Conversation, **fields: object) -> Message:
    """The event as a received message of the conversation, which is unread now and whose
    derived columns move with it (the rollups' triggers count it)."""
    message = Message.objects.create(
        organization_id=event.organization_id,
        conversation=conversation,
        direction=Direction.RECEIVED,
        sent_at=event.received_at,
        **fields,
    )
    conversations = Conversation.objects.for_org(event.organization_id).filter(pk=conversation.pk)
    conversations_touch(conversations, unread=True)
    emit(event.organization, "message.received", message)
    return message


PROCESSORS: dict[str, Callable[[InboundEvent], None]] = {
    Source.EMAIL: process_email,
    Source.EMAIL_ESP: process_email,
    Source.TEXT: process_text,
    Source.TEXT_STATUS: process_text_status,
    Source.FORM: process_form,
}
