"""Inbound email: one raw RFC 5322 message, parsed with the standard library's `email`
package (policy `default`: encoded-word headers and names decoded, every charset Python
knows). What it keeps is what a received message of a conversation needs:

- threading: the Message-IDs it answers (`In-Reply-To`, then `References` newest first),
  and the addresses it was sent to, where a `reply+<token>@` address names a conversation;
- the sender (address and display name), `Cc`, the subject;
- `content`: the text part, else the HTML part; quoted earlier text stays in it;
- attachments are not kept, only counted;
- a delivery status notification (a bounce) is not a message from a contact: it names the
  Message-ID of the email that could not be delivered, and why.
"""

import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from apps.inbound.events import Unparseable

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
REPLY_ADDRESS = re.compile(r"^reply\+([A-Za-z0-9_-]{1,32})@(.+)$", re.IGNORECASE)
# The headers that name where the message was delivered, besides To and Cc: an MTA's
# (Postfix's pipe with the D flag writes Delivered-To).
RECIPIENT_HEADERS = ("to", "cc", "delivered-to", "x-original-to", "envelope-to")


@dataclass(frozen=True)
class Bounce:
    """A delivery status notification: the email it reports on, and why it failed."""

    message_id: str | None
    reason: str
    failed: bool


@dataclass(frozen=True)
class InboundEmail:
    from_email: str
    from_name: str | None
    message_id: str | None
    answers: list[str] = field(default_factory=list)  # Message-IDs, the likeliest first
    recipients: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str | None = None
    content: str | None = None
    attachments: int = 0
    bounce: Bounce | None = None

    def reply_tokens(self, reply_domain: str | None) -> list[str]:
        """The tokens of the `reply+<token>@<reply domain>` addresses it was sent to."""
        tokens = []
        for address in self.recipients:
            match = REPLY_ADDRESS.match(address)
            if match and (reply_domain is None or match[2].lower() == reply_domain.lower()):
                tokens.append(match[1])
        return tokens


def parse_email(raw: bytes) -> InboundEmail:
    """The message in these bytes; Unparseable with the reason when it is not one."""
    if not raw.strip():
        raise Unparseable("the body is empty: send one raw RFC 5322 message")
    message = BytesParser(policy=policy.default).parsebytes(raw)
    if not any(_header(message, name) for name in ("from", "to", "subject", "message-id")):
        raise Unparseable("the body is not an RFC 5322 message: it has no From, To or Subject")
    senders = _addresses(message, "from") or _addresses(message, "sender")
    if not senders:
        raise Unparseable("the message has no From address")
    name, address = senders[0]
    message_id = _message_ids(_header(message, "message-id"))
    answers = _message_ids(_header(message, "in-reply-to"))
    answers += [
        m for m in reversed(_message_ids(_header(message, "references"))) if m not in answers
    ]
    return InboundEmail(
        from_email=address,
        from_name=name or None,
        message_id=message_id[0] if message_id else None,
        answers=answers,
        recipients=[a for header in RECIPIENT_HEADERS for _, a in _addresses(message, header)],
        cc=[a for _, a in _addresses(message, "cc")],
        subject=_header(message, "subject") or None,
        content=_content(message),
        attachments=sum(1 for _ in message.iter_attachments()) if message.is_multipart() else 0,
        bounce=_bounce(message),
    )


def _header(message: Message, name: str) -> str:
    """The header's decoded value, "" when it is missing or too broken to read."""
    try:
        value = message.get(name)
    except Exception:  # the email package raises on some malformed headers: treat as missing
        return ""
    return " ".join(str(value).split()) if value is not None else ""


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) of each address in every such header, in order."""
    try:
        values = message.get_all(name) or []
        found = []
        for value in values:
            addresses = getattr(value, "addresses", None)
            if addresses is None:  # a header the policy could not parse as addresses
                found += getaddresses([str(value)])
            else:
                found += [(a.display_name, a.addr_spec) for a in addresses]
    except Exception:
        return []
    return [(n, a.strip()) for n, a in found if "@" in a and a.strip() != "<>"]


def _message_ids(value: str) -> list[str]:
    return MESSAGE_ID.findall(value)


def _content(message: Message) -> str | None:
    """The text part, else the HTML part (attachments left out)."""
    if not isinstance(message, EmailMessage):
        return None
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return None
    try:
        content = body.get_content()
    except (LookupError, UnicodeError, KeyError):  # an unknown charset: its bytes as UTF-8
        payload = body.get_payload(decode=True)
        content = payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
    if not isinstance(content, str):
        return None
    return content.strip() or None


def _bounce(message: Message) -> Bounce | None:
    """A delivery status notification (RFC 3464, multipart/report): the Message-ID of the
    email it reports on and the reason; None for any other message."""
    if message.get_content_type() != "multipart/report":
        return None
    if str(message.get_param("report-type") or "").lower() != "delivery-status":
        return None
    reason, failed, message_id = "", False, None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                action = str(block.get("action", "")).strip().lower()
                if action == "failed":
                    failed = True
                    status = str(block.get("status", "")).strip()
                    diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
                    recipient = str(block.get("final-recipient", "")).split(";")[-1].strip()
                    reason = f"bounced: {status} {diagnostic}".strip() + (
                        f" ({recipient})" if recipient else ""
                    )
        elif kind in ("message/rfc822", "text/rfc822-headers") and message_id is None:
            message_id = _reported_message_id(part)
    return Bounce(
        message_id=message_id, reason=reason or "a delivery status notification", failed=failed
    )


def _status_blocks(part: Message) -> list[Any]:
    payload = part.get_payload()
    return (
        [block for block in payload if hasattr(block, "get")] if isinstance(payload, list) else []
    )


def _reported_message_id(part: Message) -> str | None:
    payload = part.get_payload()
    if isinstance(payload, list) and payload:  # message/rfc822: the original, parsed
        original = payload[0]
        found = (
            _message_ids(_header(original, "message-id")) if isinstance(original, Message) else []
        )
    else:  # text/rfc822-headers: the original's headers, as text
        headers = part.get_payload(decode=True) or b""
        original = BytesParser(policy=policy.default).parsebytes(bytes(headers), headersonly=True)
        found = _message_ids(_header(original, "message-id"))
    return found[0] if found else None
