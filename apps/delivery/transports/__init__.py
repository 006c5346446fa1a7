"""How a channel's messages leave. A channel names its transport with a URL, written like
DATABASE_URL; `parse` checks it (a URL that cannot be parsed is refused with the reason) and
makes the transport that sends through it:

- email: `smtp://user:pass@host:587` (STARTTLS), `smtps://user:pass@host:465` (implicit
  TLS), `smtp://host:25?security=none`: smtp.py;
- email: `anymail+<esp>://<credential>@?<settings>`: esp.py (django-anymail);
- text: `twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com`, and `twilio+http://…@127.0.0.1:port`
  for a test double: twilio.py;
- either: `console://`, to the log: console.py.

Another provider is one more module and one more scheme here.
"""

import ipaddress
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

from apps.delivery.transports.base import EmailTransport, TextTransport
from apps.delivery.transports.console import ConsoleTransport
from apps.delivery.transports.esp import CREDENTIALS, AnymailTransport
from apps.delivery.transports.smtp import SMTPTransport
from apps.delivery.transports.twilio import TwilioTransport
from hyperrep.errors import ValidationFailed

EMAIL_SCHEMES = ("smtp", "smtps", "anymail+<esp>", "console")
TEXT_SCHEMES = ("twilio", "twilio+http", "console")
HIDDEN = "•••"


def _refuse(reason: str) -> ValidationFailed:
    return ValidationFailed(reason, field="transport")


# Query settings whose values are secrets (an ESP's webhook_signing_key, api_key, …).
SECRET_SETTINGS = ("key", "secret", "token", "password")


def split_url(url: str) -> Any:
    """urlsplit, with everything before the host's last `@` taken as the credentials, even
    where a password holds `/`, `?` or `#` not percent-encoded (which urlsplit would read as
    the end of the host, leaving the password in the clear)."""
    scheme, sep, rest = url.strip().partition("://")
    if sep and "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        user, colon, password = userinfo.partition(":")
        userinfo = quote(unquote(user), safe="") + (
            colon and ":" + quote(unquote(password), safe="")
        )
        rest = f"{userinfo}@{host}"
    return urlsplit(f"{scheme}{sep}{rest}")


def parse(url: str, *, kind: str) -> Any:
    """The transport a channel of `kind` (email, text) sends through; ValidationFailed with
    the reason when the URL is not one it can use. No reason repeats a part of the URL that
    may be a secret."""
    try:
        parts = split_url(url)
        port = parts.port
    except ValueError:
        raise _refuse(
            "cannot be parsed: the host or port is not valid"
            " (percent-encode / ? # @ : in a password)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme == "console":
        return ConsoleTransport()
    if kind == "email":
        return _email(scheme, parts, port)
    if kind == "text":
        return _text(scheme, parts, port)
    raise _refuse(f"a {kind} channel sends nothing: it takes no transport")


def _email(scheme: str, parts: Any, port: int | None) -> EmailTransport:
    if scheme in ("smtp", "smtps"):
        if not parts.hostname:
            raise _refuse("an SMTP transport needs a host: smtp://user:pass@host:587")
        query = dict(parse_qsl(parts.query))
        security = query.pop("security", "ssl" if scheme == "smtps" else "starttls").lower()
        if (scheme == "smtps" and security != "ssl") or security not in ("starttls", "none", "ssl"):
            raise _refuse("security must be starttls or none (smtps:// is implicit TLS)")
        if query:
            raise _refuse(f"unknown SMTP setting {min(query)!r} (only security)")
        default_port = {"ssl": 465, "starttls": 587, "none": 25}[security]
        return SMTPTransport(
            host=parts.hostname,
            port=port or default_port,
            username=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            security=security,
        )
    if scheme.startswith("anymail+"):
        esp = scheme.removeprefix("anymail+")
        if esp not in CREDENTIALS:
            raise _refuse(f"unknown ESP {esp!r}: one of {', '.join(sorted(CREDENTIALS))}")
        secrets = [unquote(s) for s in (parts.username, parts.password) if s]
        names = CREDENTIALS[esp]
        if len(secrets) != len(names):
            wanted = ":".join(name.upper() for name in names)
            raise _refuse(f"anymail+{esp}:// takes its credential as {wanted}@")
        options: dict[str, Any] = dict(zip(names, secrets, strict=True))
        for name, value in parse_qsl(parts.query):
            options[name] = {"true": True, "false": False}.get(value.lower(), value)
        return AnymailTransport(esp=esp, options=options)
    raise _refuse(f"an email channel sends through {', '.join(EMAIL_SCHEMES)}, not {scheme!r}")


def _text(scheme: str, parts: Any, port: int | None) -> TextTransport:
    if scheme not in ("twilio", "twilio+http"):
        raise _refuse(f"a text channel sends through {', '.join(TEXT_SCHEMES)}, not {scheme!r}")
    if not (parts.username and parts.password and parts.hostname):
        raise _refuse(f"{scheme}:// takes ACCOUNT_SID:AUTH_TOKEN@host")
    if scheme == "twilio+http" and not _is_loopback(parts.hostname):
        raise _refuse("twilio+http:// is plain HTTP, for a test double on loopback only")
    address = parts.hostname if port is None else f"{parts.hostname}:{port}"
    protocol = "http" if scheme == "twilio+http" else "https"
    return TwilioTransport(
        base_url=f"{protocol}://{address}",
        account_sid=unquote(parts.username),
        auth_token=unquote(parts.password),
    )


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def redact(url: str) -> str:
    """The URL as the admin shows it: every secret replaced (SMTP's password, an ESP's
    credential, Twilio's auth token); the user or account stays, to tell channels apart."""
    parts = split_url(url)
    scheme = parts.scheme.lower()
    query = "&".join(
        f"{quote(name)}="
        + (HIDDEN if any(word in name.lower() for word in SECRET_SETTINGS) else quote(value))
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    if not (parts.username or parts.password) and query == parts.query:
        return url.strip()  # (urlunsplit would write console:// as console:)
    parts = parts._replace(query=query)
    if not (parts.username or parts.password):
        return urlunsplit(parts)
    host = parts.netloc.rsplit("@", 1)[1]
    if scheme.startswith("anymail+"):
        userinfo = HIDDEN
    else:
        user = unquote(parts.username or "")
        userinfo = f"{user}:{HIDDEN}" if parts.password else user
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))
