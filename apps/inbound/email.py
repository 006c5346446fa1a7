"""Inbound email: one raw RFC 5322 message, parsed with the standard library's `email`
package (policy `default`: encoded-word headers and names decoded, every charset Python
knows). What it keeps is what a received message of a conversation needs:

- threading: the Message-IDs it answers (`In-Reply-To`, then `References` newest first),
  and the addresses it was sent to, where a `reply+<token>@` address names a conversation;
- the sender (address and display name), `Cc`, the subject; a From address that is not one
  (no domain, two @, cut short by a space) is refused rather than made a contact;
- `content`: the text part, else the HTML part; quoted earlier text stays in it. A part is
  decoded as the superset of its charset that mailers really write (Windows-1252 for
  ISO-8859-1, GB18030 for GB2312); one in an unknown charset, or none, as UTF-8, else as
  Windows-1252;
- every text is one a database stores: raw 8-bit header bytes read as UTF-8, NULs dropped;
- attachments are not kept, only counted;
- a delivery status notification (a bounce) is not a message from a contact: it names the
  Message-ID of the email that could not be delivered, and why; it needs no From address.
"""

import codecs
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses
from typing import Any

from apps.inbound.events import Unparseable

MESSAGE_ID = re.compile(r"<[^<>\s]+>")
BARE_MESSAGE_ID = re.compile(r"[^<>\s@]+@[^<>\s@]+")
# The longest Message-ID kept (RFC 5322's line limit, and the columns'); a longer one is
# treated as missing.
MESSAGE_ID_MAX = 998
# An address: a local part (an atom, leniently: any non-special characters, or a quoted
# string) at a domain (dot-separated labels, of any script) or an address literal.
ADDRESS = re.compile(
    r'(?:[^\s@<>()\[\]\\,;:"]+|"(?:[^"\\\r\n]|\\.)*")'
    r"@(?:[^\W_](?:[\w-]*[^\W_])?(?:\.[^\W_](?:[\w-]*[^\W_])?)*|\[[^\[\]\s\\]+\])"
)
ADDRESS_MAX = 254  # RFC 5321's limit, and the contact's column
NAME_MAX = 255  # the contact's column: a longer display name is cut
# The charsets mailers label text with, and the supersets they write in it (as browsers
# read them); "ascii" (also what a part without a charset is) stands for whatever they used.
CHARSET_SUPERSETS = {
    "iso8859-1": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "euc_kr": "cp949",
    "shift_jis": "cp932",
}
SURROGATES = re.compile(r"[\ud800-\udfff]")
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
                tokens.append(match[1].lower())  # minted lower-case; servers may fold case
        return tokens


def check_email(raw: bytes) -> str | None:
    """What an inbound route checks before storing: that these bytes are a message the
    worker can take (its headers alone, read; Unparseable with the reason otherwise). Its
    Message-ID, the dedupe key."""
    message = _read(raw, headers_only=True)
    _sender(message)
    found = _message_ids(_header(message, "message-id"))
    return found[0] if found else None


def parse_email(raw: bytes) -> InboundEmail:
    """The message in these bytes; Unparseable with the reason when it is not one."""
    message = _read(raw, headers_only=False)
    name, address = _sender(message)
    bounce = _bounce(message)
    message_id = _message_ids(_header(message, "message-id"))
    answers = _message_ids(_header(message, "in-reply-to"))
    answers += [
        m for m in reversed(_message_ids(_header(message, "references"))) if m not in answers
    ]
    return InboundEmail(
        from_email=address,
        from_name=name[:NAME_MAX].strip() or None,
        message_id=message_id[0] if message_id else None,
        answers=answers,
        recipients=[a for header in RECIPIENT_HEADERS for _, a in _addresses(message, header)],
        cc=[a for _, a in _addresses(message, "cc")],
        subject=_header(message, "subject") or None,
        content=_content(message),
        attachments=sum(1 for _ in message.iter_attachments()) if message.is_multipart() else 0,
        bounce=bounce,
    )


def _read(raw: bytes, *, headers_only: bool) -> EmailMessage:
    if not raw.strip():
        raise Unparseable("the body is empty: send one raw RFC 5322 message")
    # A byte order mark or blank lines before the headers (a file saved on Windows, a pipe).
    raw = raw.lstrip(b"\xef\xbb\xbf\r\n")
    parser = BytesParser(_class=EmailMessage, policy=policy.default)
    message = parser.parsebytes(raw, headersonly=headers_only)
    if not any(_header(message, name) for name in ("from", "to", "subject", "message-id")):
        raise Unparseable("the body is not an RFC 5322 message: it has no From, To or Subject")
    return message


def _sender(message: Message) -> tuple[str, str]:
    """(display name, address) of its sender; a bounce needs none."""
    senders = _addresses(message, "from") or _addresses(message, "sender")
    if senders:
        return senders[0]
    if not _is_report(message):
        given = _raw_header(message, "from")
        if given:
            raise Unparseable(f"the From address is not valid: {given}")
        raise Unparseable("the message has no From address")
    return "", ""


def _is_report(message: Message) -> bool:
    """Whether it is a delivery status notification (RFC 3464)."""
    return (
        message.get_content_type() == "multipart/report"
        and str(message.get_param("report-type") or "").lower() == "delivery-status"
    )


def _header(message: Message, name: str) -> str:
    """The header's decoded value, "" when it is missing or too broken to read."""
    try:
        value = message.get(name)
    except Exception:  # the email package raises on some malformed headers: treat as missing
        return ""
    return _clean(" ".join(str(value).split())) if value is not None else ""


def _raw_header(message: Message, name: str) -> str:
    """The first such header as it was written (unfolded, undecoded); "" when missing."""
    for key, value in message.raw_items():
        if key.lower() == name:
            return _clean(" ".join(str(value).split()))
    return ""


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, address) of each valid address in every such header, in order; an
    address the parser cut short (`ann@exa mple.com` read as `ann@exa`) is not one."""
    try:
        values = message.get_all(name) or []
        written = _clean(
            " ".join(" ".join(str(v).split()) for k, v in message.raw_items() if k.lower() == name)
        )
        found = []
        for value in values:
            addresses = getattr(value, "addresses", None)
            if addresses is None:  # a header the policy could not parse as addresses
                found += getaddresses([str(value)])
            else:
                found += [(a.display_name, a.addr_spec) for a in addresses]
    except Exception:
        return []
    cleaned = [(_clean(n), _clean(a).strip()) for n, a in found]
    return [(n, a) for n, a in cleaned if _is_address(a) and _written_whole(a, written)]


def _is_address(address: str) -> bool:
    return len(address) <= ADDRESS_MAX and ADDRESS.fullmatch(address) is not None


def _written_whole(address: str, written: str) -> bool:
    """Whether the address's domain ends where the header says it does (at a `>`, `,`,
    `;`, a comment or the end), not inside a longer run the parser gave up on."""
    domain = address.rpartition("@")[2]
    ends = r"(?=\s*(?:[>,;()]|$))"
    return re.search("@" + re.escape(domain) + ends, written, re.IGNORECASE) is not None


def _message_ids(value: str) -> list[str]:
    """The `<id>`s in the header; a lone id written without its angle brackets (some
    clients do) is taken as one."""
    found = MESSAGE_ID.findall(value)
    if not found and BARE_MESSAGE_ID.fullmatch(value.strip()):
        found = [f"<{value.strip()}>"]
    return [m for m in found if len(m) <= MESSAGE_ID_MAX]


def _clean(text: str) -> str:
    """The text as a database stores it: the raw 8-bit bytes the parser kept as surrogate
    escapes decoded (as UTF-8, else Windows-1252), any other lone surrogate replaced, NULs
    dropped."""
    if SURROGATES.search(text):
        try:
            text = _decode(text.encode("utf-8", "surrogateescape"), None)
        except UnicodeEncodeError:  # a surrogate no undecoded byte stands for
            text = SURROGATES.sub("\ufffd", text)
    return text.replace("\x00", "")


def _decode(data: bytes, charset: str | None) -> str:
    """The bytes as text: in the superset of the charset that mailers write in it; with no
    charset, or one Python does not know, as UTF-8 if they are that, else Windows-1252."""
    try:
        known = codecs.lookup(charset).name if charset else "ascii"
    except LookupError:
        known = "ascii"
    if known == "ascii":
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            known = "cp1252"
    return data.decode(CHARSET_SUPERSETS.get(known, known), errors="replace")


def _content(message: Message) -> str | None:
    """The text part, else the HTML part (attachments left out)."""
    if not isinstance(message, EmailMessage):
        return None
    body = message.get_body(preferencelist=("plain", "html"))
    if body is None:
        return None
    payload = body.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    try:
        content = _decode(payload, body.get_content_charset())
    except (LookupError, UnicodeError):  # a codec that is not for text, or raises anyway
        content = _decode(payload, None)
    return _clean(content).strip() or None


def _bounce(message: Message) -> Bounce | None:
    """A delivery status notification (RFC 3464, multipart/report): the Message-ID of the
    email it reports on and the reason; None for any other message."""
    if not _is_report(message):
        return None
    reason, failed, message_id = "", False, None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/delivery-status":
            for block in _status_blocks(part):
                action = (str(block.get("action", "")).split() or [""])[0].lower()
                if not action or (failed and action != "failed"):
                    continue  # the per-message fields; a failure is the reason to give
                failed = failed or action == "failed"
                status = str(block.get("status", "")).strip()
                diagnostic = " ".join(str(block.get("diagnostic-code", "")).split())
                recipient = str(block.get("final-recipient", "")).split(";")[-1].strip()
                reason = f"{'bounced' if action == 'failed' else action}: {status} {diagnostic}"
                reason = _clean(reason.strip() + (f" ({recipient})" if recipient else ""))
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
