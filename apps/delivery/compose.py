"""What a draft becomes on the wire.

An email: From the channel's sender; To the contact (`to_user_name <to_email>` for a message
draft); Cc and Bcc from the draft (Bcc in the envelope only); the draft's subject, or for a
reply `Re: ` and the subject of the conversation's latest email; In-Reply-To and References
from the conversation's emails; `Reply-To: reply+<token>@<reply_domain>` when the channel has
a reply domain; a Message-ID fixed per draft (`<msg_…@domain>`, the public id of the message
it becomes); an HTML part, and a plain-text part made from it (inscriptis, which lays out
paragraphs, lists and tables, and writes each link's URL).

A text: the draft's body as plain text, from the channel's number to the contact's, both in
E.164, with Twilio's status callback under PUBLIC_URL when it is set.
"""

import secrets
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError
from inscriptis import get_text
from inscriptis.css_profiles import CSS_PROFILES
from inscriptis.model.config import ParserConfig

from apps.conversations.models import Conversation
from apps.delivery.links import track
from apps.delivery.transports.base import Permanent, Text, Transient
from apps.drafts.models import Draft, MessageDraft
from apps.organizations.models import Channel
from hyperrep import phones

# A conversation's emails, (Message-ID, subject), oldest first.
Thread = list[tuple[str | None, str | None]]
REFERENCES_KEPT = 20  # the newest ids of the thread in References, as mail clients keep them
TEXT_LAYOUT = ParserConfig(css=CSS_PROFILES["strict"], display_links=True)


@dataclass(frozen=True)
class Composed:
    """What the sent message keeps of what went out."""

    subject: str | None = None
    email_message_id: str | None = None
    tracked_links: list[tuple[str, str]] = field(default_factory=list)


def plain_text(html: str) -> str:
    return get_text(html, TEXT_LAYOUT).strip() if html else ""


def email(
    draft: Draft, channel: Channel, thread: Thread
) -> tuple[EmailMultiAlternatives, Composed]:
    """The email of the draft, sent through the channel, in reply to the thread: the
    conversation's emails (Message-ID, subject), oldest first."""
    conversation = draft.conversation
    contact = conversation.contact
    if isinstance(draft, MessageDraft):
        name, address = draft.to_user_name, draft.to_email
    else:
        name, address = contact.name, contact.email
    if not address:
        raise Permanent("the contact has no email address")
    domain = parseaddr(channel.sender)[1].rpartition("@")[2] or "localhost"
    message_id = f"<{draft.message_public_id}@{domain}>"
    headers = {"Message-ID": message_id}
    references = [_bracketed(known) for known, _subject in thread if known][-REFERENCES_KEPT:]
    if references:
        headers["In-Reply-To"] = references[-1]
        headers["References"] = " ".join(references)
    if channel.reply_domain:
        headers["Reply-To"] = f"reply+{reply_token(conversation)}@{channel.reply_domain}"
    subject = draft.subject or "" if isinstance(draft, MessageDraft) else _reply_subject(thread)
    html, links = track(draft.body_html or "", message_public_id=draft.message_public_id)
    message = EmailMultiAlternatives(
        subject=subject,
        body=plain_text(html),
        from_email=channel.sender,
        to=[formataddr((name or "", address))],
        cc=list(draft.cc_emails),
        bcc=list(draft.bcc_emails),
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message, Composed(subject=subject, email_message_id=message_id, tracked_links=links)


def text(draft: Draft, channel: Channel) -> Text:
    contact = draft.conversation.contact
    number = (
        phones.to_e164(draft.to_phone_number)
        if isinstance(draft, MessageDraft) and draft.to_phone_number
        else contact.phone_e164
    )
    if not number:
        raise Permanent("the contact has no phone number")
    callback = None
    if settings.PUBLIC_URL:
        callback = f"{settings.PUBLIC_URL}/inbound/text/{channel.inbound_token}/status"
    return Text(
        sender=channel.sender,
        to=number,
        body=plain_text(draft.body_html or ""),
        status_callback=callback,
    )


def reply_token(conversation: Conversation) -> str:
    """The token that names the conversation in its reply+<token>@ address, made the first
    time one of its emails goes out (lower-case, as some mail servers fold addresses)."""
    if conversation.reply_token:
        return conversation.reply_token
    rows = Conversation.objects.for_org(conversation.organization_id).filter(pk=conversation.pk)
    token: str | None = secrets.token_hex(10)
    try:
        made = rows.filter(reply_token=None).update(reply_token=token)
    except IntegrityError:  # a collision of 80 random bits: draw again next attempt
        raise Transient("reply token collision") from None
    if not made:  # another attempt made it first
        token = rows.values_list("reply_token", flat=True).get()
    assert token is not None
    conversation.reply_token = token
    return token


def _reply_subject(thread: Thread) -> str:
    latest = next((subject for _id, subject in reversed(thread) if subject), "")
    if not latest or latest.lower().startswith("re:"):
        return latest
    return f"Re: {latest}"


def _bracketed(message_id: str) -> str:
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"
