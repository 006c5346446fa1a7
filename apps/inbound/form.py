"""Inbound web forms: a website's form posted to `/inbound/form/<token>`, urlencoded (a plain
HTML form) or JSON (`fetch` from a static site, allowed by the channel's origins: CORS).

The fields are kept as they came (`form_request_body`), less two the server reads:
`redirect`, where a browser is sent after a plain form's post (303; only to the channel's
origins or the site that sent the form), and `hp_website`, the honeypot: a field the page
hides from people, so a filled one marks a bot (answered as a success, stored as spam, no
message). The contact comes from `email`, `phone` or `phone_number`, and `name`: a name is
cut to what a contact holds, a phone that is not a number stays a field only. NUL
characters, which no database stores, are dropped everywhere.
"""

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from apps.inbound.events import Unparseable
from hyperrep import phones

HONEYPOT = "hp_website"
REDIRECT = "redirect"
MAX_FIELDS = 100
NAME_MAX = 255  # the contact's columns
EMAIL_MAX = 254


@dataclass(frozen=True)
class FormSubmission:
    fields: dict[str, Any]
    email: str | None
    phone: str | None
    name: str | None
    redirect: str | None
    spam: bool

    def as_text(self) -> str:
        """The fields as lines of `name: value`, the message's content."""
        lines = []
        for name, value in self.fields.items():
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            lines.append(f"{name}: {shown}")
        return "\n".join(lines)


def parse_form(body: bytes, content_type: str) -> FormSubmission:
    kind, _, params = content_type.partition(";")
    kind = kind.strip().lower()
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    try:
        text = body.decode(charset)
    except LookupError:
        raise Unparseable(f"unknown charset {charset[:40]!r}") from None
    except UnicodeDecodeError:
        raise Unparseable(f"the body is not {charset[:40]}") from None
    if kind == "application/json":
        try:
            fields = json.loads(text)
        except ValueError as error:
            raise Unparseable(f"the body is not JSON: {error}") from None
        if not isinstance(fields, dict):
            raise Unparseable("the body must be a JSON object of the form's fields")
    else:
        pairs = parse_qsl(text, keep_blank_values=True, encoding=charset, errors="replace")
        fields = {}
        for name, value in pairs:
            if name in fields:  # a field given twice (checkboxes): a list of its values
                known = fields[name]
                fields[name] = [*known, value] if isinstance(known, list) else [known, value]
            else:
                fields[name] = value
    fields = _without_nul(fields)
    if len(fields) > MAX_FIELDS:
        raise Unparseable(f"a form has at most {MAX_FIELDS} fields")
    honeypot = fields.pop(HONEYPOT, None)
    redirect = fields.pop(REDIRECT, None)
    if redirect is not None and not isinstance(redirect, str):
        raise Unparseable("redirect must be a URL")
    if not fields:
        raise Unparseable("the form has no fields")
    email = _text(fields, "email")
    if email is not None:
        try:
            if len(email) > EMAIL_MAX:
                raise ValidationError("too long")
            validate_email(email)
        except ValidationError:
            raise Unparseable(f"email is not an email address: {email[:100]}") from None
    given_phone = _text(fields, "phone") or _text(fields, "phone_number")
    given_name = _text(fields, "name")
    return FormSubmission(
        fields=fields,
        email=email,
        phone=phones.to_e164(given_phone),
        name=given_name[:NAME_MAX].strip() if given_name else None,
        redirect=redirect.strip() or None if redirect else None,
        spam=bool(honeypot),
    )


def _without_nul(value: Any) -> Any:
    """The value with every NUL dropped from its strings, keys included."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    return value


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = fields.get(name)
    return value.strip() or None if isinstance(value, str) else None


SNIPPET = """<form action="{action}" method="post">
  <input name="name" placeholder="Your name" required>
  <input name="email" type="email" placeholder="Email">
  <input name="phone" type="tel" placeholder="Phone">
  <textarea name="message" placeholder="How can we help?"></textarea>
  <!-- The honeypot: hidden from people, filled by bots. Keep it empty and hidden. -->
  <input name="hp_website" tabindex="-1" autocomplete="off" aria-hidden="true"
         style="position:absolute;left:-10000px">
  <!-- Where the browser goes after sending: a page of this site. -->
  <input type="hidden" name="redirect" value="/thanks.html">
  <button type="submit">Send</button>
</form>"""


def snippet(action: str) -> str:
    """The HTML of a form that posts to `action`, to paste into a page."""
    return SNIPPET.format(action=action)
