"""Inbound texts: Twilio's incoming-message webhook, and the status callbacks of the texts
the worker sent (apps/delivery/transports/twilio.py asks for them under PUBLIC_URL).

Twilio signs each request (`X-Twilio-Signature`): base64 of HMAC-SHA1, keyed with the
account's auth token, over the URL it called followed by each form field's name and value,
sorted by name. That URL is PUBLIC_URL + the path (what Twilio was given, whatever proxy
stands in front of this server), or the request's own URL when PUBLIC_URL is unset. The
auth token is the channel's transport's (`twilio://ACCOUNT_SID:AUTH_TOKEN@…`; in
development `console://ACCOUNT_SID:AUTH_TOKEN@`).
"""

import base64
import hashlib
import hmac
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit

from cryptography.fernet import InvalidToken

from apps.delivery import transports
from apps.inbound.events import Unparseable
from apps.organizations.models import Channel
from hyperrep import phones

log = logging.getLogger("hyperrep.inbound")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
# What a status callback can say of a sent text; the last three are final.
FINAL_STATUSES = ("delivered", "undelivered", "failed")
FAILED_STATUSES = ("undelivered", "failed")


@dataclass(frozen=True)
class InboundText:
    sid: str
    from_number: str  # E.164
    to_number: str
    body: str
    media: int


@dataclass(frozen=True)
class TextStatus:
    sid: str
    status: str
    error_code: str | None


def auth_token(channel: Channel) -> str | None:
    """The auth token of the channel's Twilio account: its transport's password (decrypted
    here, for the check alone); None when it has none."""
    try:
        url = channel.transport_url()
    except InvalidToken:
        log.error("channel %s: its transport cannot be decrypted", channel.pk)
        return None
    parts = transports.split_url(url)
    if parts.scheme.lower() not in ("twilio", "twilio+http", "console"):
        return None
    return unquote(parts.password) if parts.password else None


def signature(auth_token: str, url: str, fields: Iterable[tuple[str, str]]) -> str:
    """Twilio's signature of a form POST to `url`."""
    data = url + "".join(name + value for name, value in sorted(set(fields)))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signature_is_valid(
    auth_token: str, url: str, fields: Iterable[tuple[str, str]], given: str
) -> bool:
    """Whether `given` signs the request; as Twilio's own validator, the URL is also tried
    with its default port written out and left out (Twilio signs what it was configured
    with, and proxies differ in which they pass on)."""
    fields = list(fields)
    return any(
        hmac.compare_digest(signature(auth_token, candidate, fields), given)
        for candidate in _with_and_without_port(url)
    )


def _with_and_without_port(url: str) -> list[str]:
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    candidates = [url]
    if default is not None and parts.port in (None, default):
        userinfo = parts.netloc.rpartition("@")[0]
        prefix = f"{userinfo}@" if userinfo else ""
        without = urlunsplit(parts._replace(netloc=f"{prefix}{host}"))
        with_port = urlunsplit(parts._replace(netloc=f"{prefix}{host}:{default}"))
        candidates += [c for c in (without, with_port) if c != url]
    return candidates


def _one(fields: dict[str, str], *names: str) -> str:
    for name in names:
        if fields.get(name, "").strip():
            return fields[name].strip()
    return ""


def parse_text(fields: dict[str, str]) -> InboundText:
    sid = _one(fields, "MessageSid", "SmsMessageSid", "SmsSid")
    if not sid:
        raise Unparseable("MessageSid is required")
    sender = _one(fields, "From")
    if not sender:
        raise Unparseable("From is required")
    e164 = phones.to_e164(sender)
    if e164 is None:
        raise Unparseable(f"From is not a phone number: {sender[:64]}")
    media = _one(fields, "NumMedia")
    return InboundText(
        sid=sid,
        from_number=e164,
        to_number=phones.to_e164(_one(fields, "To")) or _one(fields, "To"),
        body=fields.get("Body", ""),
        media=int(media) if media.isdigit() else 0,
    )


def parse_status(fields: dict[str, str]) -> TextStatus:
    sid = _one(fields, "MessageSid", "SmsSid")
    status = _one(fields, "MessageStatus", "SmsStatus").lower()
    if not sid:
        raise Unparseable("MessageSid is required")
    if not status:
        raise Unparseable("MessageStatus is required")
    return TextStatus(sid=sid, status=status, error_code=_one(fields, "ErrorCode") or None)
