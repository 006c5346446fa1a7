"""One line of an import file, checked and turned into the values of its model's fields.

A line is an object in the shape the API renders (§6-§8) plus `"type"` and, except for
organizations, `"organization_id"`. The checks are plain Python rather than DRF serializers:
a file of a million messages would spend most of its time in DRF's per-field machinery.
They reuse the pieces that carry the API's rules (ids.can_be_valid, the custom_fields rules
of hyperrep/custom_fields.py, normalize_domain, the models' choices), and otherwise accept what the
model can hold and the API can render, so that whatever `export_data` writes imports back.

Nothing here touches the database: references go through the `resolve` callback of the
importer, which answers the referenced row's primary key or raises BadRecord.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.validators import validate_email

from apps.companies.domains import normalize_domain
from apps.conversations.models import Direction, Modality
from apps.sales.models import SaleStatus
from hyperrep import ids, phones
from hyperrep.custom_fields import check_custom_fields
from hyperrep.errors import ValidationFailed

# The prefix of each type's minted ids: an imported id may be anything ids.can_be_valid
# accepts for it, but never the minted prefix of another type.
PREFIXES = {
    "organization": "org",
    "agent": "agt",
    "company": "cmp",
    "contact": "ctc",
    "conversation": "cnv",
    "message": "msg",
    "sale": "sal",
    "link": "lnk",
}

MAX_INT = 2_147_483_647  # PositiveIntegerField's ceiling on every backend
MONEY_MAX_DIGITS = 15  # integer digits of a price
_CENTS = Decimal("0.01")
_MONEY = re.compile(r"-?[0-9]{1,15}(?:\.[0-9]{1,2})?")
# RFC 3339 with seconds and an offset; at most microseconds, which is what is stored, so
# that a timestamp exports back as it came.
_INSTANT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_SLUG = re.compile(r"[-a-zA-Z0-9_]+")
_MODALITIES = frozenset(Modality.values)
_DIRECTIONS = frozenset(Direction.values)
_SALE_STATUSES = frozenset(SaleStatus.values)


class BadRecord(ValidationFailed):
    """Why the line rejects the file: a value of the wrong shape, or a reference to no row."""


Resolve = Callable[[str, str, str], int]


@dataclass(slots=True)
class Record:
    kind: str
    public_id: str
    # Model field values; foreign keys as `<field>_id` primary keys, already resolved.
    values: dict[str, Any]
    # Rows of the child tables (tracked links; a sale's contacts, conversations, history).
    children: Any = None
    # A conversation's last_activity_at as the line states it: checked once the whole file
    # is in, as later lines may add messages.
    stated_last_activity_at: datetime | None = None


@dataclass(slots=True)
class SaleChildren:
    contacts: list[tuple[int, bool]] = field(default_factory=list)
    conversations: list[int] = field(default_factory=list)
    history: list[tuple[str, str | None, datetime]] = field(default_factory=list)


# -- the shape of each type's line ------------------------------------------------------------

# (required keys in the API's order, optional keys). Derived fields are optional and must
# agree when given; every other field of the API shape is required, null where absent.
SHAPES: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    "organization": (("type", "organization_id", "name"), frozenset()),
    "agent": (("type", "organization_id", "agent_id", "name", "email"), frozenset()),
    "company": (
        (
            "type",
            "organization_id",
            "company_id",
            "name",
            "domain",
            "custom_fields",
            "address",
            "agent_id",
            "created_at",
        ),
        frozenset(),
    ),
    "contact": (
        (
            "type",
            "organization_id",
            "contact_id",
            "name",
            "email",
            "phone_number",
            "created_at",
            "company_id",
            "custom_fields",
            "company_role",
        ),
        frozenset(),
    ),
    "conversation": (
        (
            "type",
            "organization_id",
            "conversation_id",
            "start_at",
            "folder",
            "is_read",
            "contact_id",
            "agent_id",
        ),
        frozenset({"last_activity_at"}),
    ),
    "message": (
        (
            "type",
            "organization_id",
            "message_id",
            "conversation_id",
            "agent_id",
            "modality",
            "message_direction",
            "subject",
            "content",
            "call_transcript",
            "form_request_body",
            "sent_at",
            "drafted_at",
            "email_metadata",
            "call_metadata",
            "tracked_links",
        ),
        frozenset({"is_form_request"}),
    ),
    "sale": (
        (
            "type",
            "organization_id",
            "sale_id",
            "associated_conversation_ids",
            "company_id",
            "owner_id",
            "associated_contacts",
            "quote_details",
            "custom_fields",
            "status_history",
            "created_at",
        ),
        frozenset({"current_status", "last_activity_at", "is_draft"}),
    ),
}
_ALLOWED = {kind: frozenset(required) | optional for kind, (required, optional) in SHAPES.items()}


def check_keys(line: dict[str, Any], kind: str) -> None:
    _keys(line, SHAPES[kind][0], _ALLOWED[kind])


def _keys(
    obj: dict[str, Any], required: tuple[str, ...], allowed: frozenset[str], at: str = ""
) -> None:
    keys = obj.keys()
    if keys == allowed:  # the usual case, one comparison
        return
    for key in required:
        if key not in obj:
            raise BadRecord(f'missing field "{at}{key}"')
    unknown = keys - allowed
    if unknown:
        raise BadRecord(f'unknown field "{at}{min(unknown)}"')


# -- one function per type ------------------------------------------------------------------


def read_organization(line: dict[str, Any]) -> tuple[str, str]:
    """(organization_id, name); organizations are written at once, not batched."""
    check_keys(line, "organization")
    return _own_id(line, "organization_id", "organization"), _text(
        line, "name", max_length=255, blank=False
    )


def read_agent(line: dict[str, Any], resolve: Resolve) -> Record:
    check_keys(line, "agent")
    email = _text(line, "email", max_length=254, null=True)
    if email is not None:
        try:
            validate_email(email)  # the model's EmailField rule, which the admin applies too
        except Exception:
            raise BadRecord(f"bad value: email {show(email)} is not an email address") from None
    return Record(
        "agent",
        _own_id(line, "agent_id", "agent"),
        {"name": _text(line, "name", max_length=255, blank=False), "email": email},
    )


def read_company(line: dict[str, Any], resolve: Resolve) -> Record:
    check_keys(line, "company")
    domain = _text(line, "domain", max_length=2000, null=True)
    if domain is not None:
        # Normalised as POST /companies does, so a re-export shows what the API would.
        try:
            domain = normalize_domain(domain)
        except ValueError:
            raise BadRecord(f"bad value: domain {show(domain)} is not a domain name") from None
    return Record(
        "company",
        _own_id(line, "company_id", "company"),
        {
            "name": _text(line, "name", max_length=255, blank=False),
            "domain": domain,
            "custom_fields": _custom_fields(line),
            "address": _text(line, "address", max_length=2000, null=True),
            "agent_id": _reference(line, "agent_id", "agent", resolve, null=True),
            "created_at": _instant(line, "created_at"),
        },
    )


def read_contact(line: dict[str, Any], resolve: Resolve) -> Record:
    check_keys(line, "contact")
    # Email and phone as the model holds them: contacts come from other systems with
    # values the API's POST would refuse, and the API renders them all the same.
    return Record(
        "contact",
        _own_id(line, "contact_id", "contact"),
        {
            "name": _text(line, "name", max_length=255, null=True),
            "email": _text(line, "email", max_length=254, null=True),
            "phone_number": (phone := _text(line, "phone_number", max_length=64, null=True)),
            "phone_e164": phones.to_e164(phone),
            "created_at": _instant(line, "created_at"),
            "company_id": _reference(line, "company_id", "company", resolve, null=True),
            "custom_fields": _custom_fields(line),
            "company_role": _text(line, "company_role", max_length=255, null=True),
        },
    )


def read_conversation(line: dict[str, Any], resolve: Resolve) -> Record:
    check_keys(line, "conversation")
    folder = _text(line, "folder", max_length=100, blank=False)
    if not _SLUG.fullmatch(folder):
        raise BadRecord(f"bad value: folder {show(folder)} is not a slug")
    start_at = _instant(line, "start_at")
    stated = _instant(line, "last_activity_at") if "last_activity_at" in line else None
    return Record(
        "conversation",
        _own_id(line, "conversation_id", "conversation"),
        {
            "start_at": start_at,
            # Recomputed from the messages once the file is in (conversations_touch).
            "last_activity_at": start_at,
            "folder": folder,
            "is_read": _bool(line, "is_read"),
            "contact_id": _reference(line, "contact_id", "contact", resolve),
            "agent_id": _reference(line, "agent_id", "agent", resolve, null=True),
        },
        stated_last_activity_at=stated,
    )


_EMAIL_METADATA = ("email_message_id", "cc_emails", "bcc_emails")
_EMAIL_METADATA_KEYS = frozenset(_EMAIL_METADATA)
_CALL_METADATA_KEYS = frozenset({"duration"})
_LINK = ("link_id", "url", "click_count")
_LINK_KEYS = frozenset(_LINK)


def read_message(line: dict[str, Any], resolve: Resolve) -> Record:
    check_keys(line, "message")
    modality = line["modality"]
    if modality not in _MODALITIES:
        raise BadRecord(
            f"bad value: modality {show(modality)} is not one of {_choices(_MODALITIES)}"
        )
    direction = line["message_direction"]
    if direction not in _DIRECTIONS:
        raise BadRecord(
            f"bad value: message_direction {show(direction)} is not one of {_choices(_DIRECTIONS)}"
        )
    if "is_form_request" in line and line["is_form_request"] is not (modality == "form"):
        raise BadRecord(
            f"bad value: is_form_request {show(line['is_form_request'])} disagrees with "
            f"modality {show(modality)} (true exactly for form)"
        )
    form_request_body = line["form_request_body"]
    if form_request_body is not None and type(form_request_body) is not dict:
        raise BadRecord("bad value: form_request_body must be an object or null")

    email = _object(line, "email_metadata")
    _keys(email, _EMAIL_METADATA, _EMAIL_METADATA_KEYS, "email_metadata.")
    call = _object(line, "call_metadata")
    _keys(call, ("duration",), _CALL_METADATA_KEYS, "call_metadata.")

    return Record(
        "message",
        _own_id(line, "message_id", "message"),
        {
            "conversation_id": _reference(line, "conversation_id", "conversation", resolve),
            "agent_id": _reference(line, "agent_id", "agent", resolve, null=True),
            "modality": modality,
            "direction": direction,
            "subject": _text(line, "subject", null=True),
            "content": _text(line, "content", null=True),
            "call_transcript": _text(line, "call_transcript", null=True),
            "call_duration": _count(call, "duration", "call_metadata.", null=True),
            "form_request_body": form_request_body,
            "sent_at": _instant(line, "sent_at"),
            "drafted_at": _instant(line, "drafted_at", null=True),
            "email_message_id": _text(
                email, "email_message_id", max_length=998, null=True, at="email_metadata."
            ),
            "cc_emails": _strings(email, "cc_emails", "email_metadata."),
            "bcc_emails": _strings(email, "bcc_emails", "email_metadata."),
        },
        children=_tracked_links(line),
    )


def _tracked_links(line: dict[str, Any]) -> list[tuple[str, str, int]]:
    links = line["tracked_links"]
    if type(links) is not list:
        raise BadRecord("bad value: tracked_links must be a list")
    rows = []
    seen = set()
    for index, link in enumerate(links):
        at = f"tracked_links[{index}]."
        if type(link) is not dict:
            raise BadRecord(f"bad value: tracked_links[{index}] must be an object")
        _keys(link, _LINK, _LINK_KEYS, at)
        link_id = _own_id(link, "link_id", "link", at)
        if link_id in seen:
            raise BadRecord(f"bad value: {at}link_id {show(link_id)} appears twice")
        seen.add(link_id)
        rows.append(
            (link_id, _text(link, "url", blank=False, at=at), _count(link, "click_count", at))
        )
    return rows


_CONTACT_LINK = ("contact_id", "is_primary")
_CONTACT_LINK_KEYS = frozenset(_CONTACT_LINK)
_STATUS = ("label", "status", "changed_at")
_STATUS_KEYS = frozenset(_STATUS)


def read_sale(line: dict[str, Any], resolve: Resolve) -> Record:
    check_keys(line, "sale")
    children = SaleChildren()

    conversation_ids = _list(line, "associated_conversation_ids")
    for index, value in enumerate(conversation_ids):
        key = f"associated_conversation_ids[{index}]"
        pk = _reference({key: value}, key, "conversation", resolve)
        if pk in children.conversations:
            raise BadRecord(f"bad value: {key} {show(value)} appears twice")
        children.conversations.append(pk)

    for index, link in enumerate(_list(line, "associated_contacts")):
        at = f"associated_contacts[{index}]."
        if type(link) is not dict:
            raise BadRecord(f"bad value: associated_contacts[{index}] must be an object")
        _keys(link, _CONTACT_LINK, _CONTACT_LINK_KEYS, at)
        pk = _reference(link, "contact_id", "contact", resolve, at=at)
        if any(pk == seen for seen, _ in children.contacts):
            raise BadRecord(f"bad value: {at}contact_id {show(link['contact_id'])} appears twice")
        children.contacts.append((pk, _bool(link, "is_primary", at)))

    for index, item in enumerate(_list(line, "status_history")):
        children.history.append(_status(item, f"status_history[{index}]"))
    for index in range(1, len(children.history)):
        # The API lists the history by changed_at: a file in another order would not read
        # back as written, and its last item would not be the current status.
        if children.history[index][2] < children.history[index - 1][2]:
            raise BadRecord(f"bad value: status_history must be oldest first (item {index})")
    if "current_status" in line:
        current = line["current_status"]
        last = children.history[-1] if children.history else None
        stated = None if current is None else _status(current, "current_status")
        if stated != last:
            raise BadRecord("bad value: current_status is not the last item of status_history")

    created_at = _instant(line, "created_at")
    if "last_activity_at" in line:
        last_activity_at = _instant(line, "last_activity_at")
    else:
        last_activity_at = max([created_at, *(changed for _, _, changed in children.history)])
    is_draft = _bool(line, "is_draft") if "is_draft" in line else False
    return Record(
        "sale",
        _own_id(line, "sale_id", "sale"),
        {
            "is_draft": is_draft,
            "company_id": _reference(line, "company_id", "company", resolve, null=True),
            "owner_id": _reference(line, "owner_id", "agent", resolve, null=True),
            "quote_details": check_quote_details(line["quote_details"]),
            "custom_fields": _custom_fields(line),
            "created_at": created_at,
            "last_activity_at": last_activity_at,
        },
        children=children,
    )


def _status(item: Any, at: str) -> tuple[str, str | None, datetime]:
    if type(item) is not dict:
        raise BadRecord(f"bad value: {at} must be an object")
    at += "."
    _keys(item, _STATUS, _STATUS_KEYS, at)
    status = item["status"]
    if status is not None and status not in _SALE_STATUSES:
        raise BadRecord(
            f"bad value: {at}status {show(status)} is not null or one of {_choices(_SALE_STATUSES)}"
        )
    return (
        _text(item, "label", max_length=255, blank=False, at=at),
        status,
        _instant(item, "changed_at", at=at),
    )


_QUOTE_KEYS = frozenset({"output", "arguments", "agent_overrides"})
_QUOTE_OUTPUT = ("currency", "total_price")
_QUOTE_OUTPUT_KEYS = frozenset(_QUOTE_OUTPUT)
_PRODUCT = ("quantity", "unit_price", "product_name")
_PRODUCT_KEYS = frozenset(_PRODUCT)


def check_quote_details(value: Any) -> dict[str, Any]:
    """A sale's quote details, as the import and the admin take them: the documented shape
    with prices as two-place decimal strings. Each of the three parts may be absent (a sale
    made in the admin may have none), but what is there has the documented shape; the dict
    is built in that order, which is also PostgreSQL's jsonb key order, so the export is the
    same on both backends."""
    quote = _object({"quote_details": value}, "quote_details")
    unknown = quote.keys() - _QUOTE_KEYS
    if unknown:
        raise BadRecord(f'unknown field "quote_details.{min(unknown)}"')
    normal: dict[str, Any] = {}
    if "output" in quote:
        at = "quote_details.output."
        output = _object(quote, "output", "quote_details.")
        _keys(output, _QUOTE_OUTPUT, _QUOTE_OUTPUT_KEYS, at)
        normal["output"] = {
            "currency": _text(output, "currency", max_length=16, blank=False, at=at),
            "total_price": _money(output, "total_price", at),
        }
    if "arguments" in quote:
        arguments = _object(quote, "arguments", "quote_details.")
        _keys(arguments, ("products",), frozenset({"products"}), "quote_details.arguments.")
        products = []
        for index, product in enumerate(_list(arguments, "products", "quote_details.arguments.")):
            at = f"quote_details.arguments.products[{index}]."
            if type(product) is not dict:
                raise BadRecord(f"bad value: {at[:-1]} must be an object")
            _keys(product, _PRODUCT, _PRODUCT_KEYS, at)
            products.append(
                {
                    "quantity": _count(product, "quantity", at),
                    "unit_price": _money(product, "unit_price", at),
                    "product_name": _text(product, "product_name", at=at),
                }
            )
        normal["arguments"] = {"products": products}
    if "agent_overrides" in quote:
        normal["agent_overrides"] = _object(quote, "agent_overrides", "quote_details.")
    return normal


READERS: dict[str, Callable[[dict[str, Any], Resolve], Record]] = {
    "agent": read_agent,
    "company": read_company,
    "contact": read_contact,
    "conversation": read_conversation,
    "message": read_message,
    "sale": read_sale,
}


# -- values ---------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as it was in the file, cut short: error messages name what was wrong."""
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def _choices(values: frozenset[str]) -> str:
    return ", ".join(sorted(values))


def _own_id(obj: dict[str, Any], key: str, kind: str, at: str = "") -> str:
    value = obj[key]
    if not ids.can_be_valid(value, PREFIXES[kind]):
        raise BadRecord(f"bad value: {at}{key} {show(value)} cannot be the id of a {kind}")
    return value


def _reference(
    obj: dict[str, Any], key: str, kind: str, resolve: Resolve, *, null: bool = False, at: str = ""
) -> Any:
    value = obj[key]
    if value is None:
        if null:
            return None
        raise BadRecord(f"bad value: {at}{key} must not be null")
    if not ids.can_be_valid(value, PREFIXES[kind]):
        raise BadRecord(f"bad value: {at}{key} {show(value)} cannot be the id of a {kind}")
    return resolve(kind, value, at + key)


def _text(
    obj: dict[str, Any],
    key: str,
    *,
    max_length: int | None = None,
    null: bool = False,
    blank: bool = True,
    at: str = "",
) -> Any:
    value = obj[key]
    if type(value) is str:
        if max_length is not None and len(value) > max_length:
            raise BadRecord(f"bad value: {at}{key} is longer than {max_length} characters")
        if not blank and not value.strip():
            raise BadRecord(f"bad value: {at}{key} must not be blank")
        return value
    if value is None and null:
        return None
    raise BadRecord(f"bad value: {at}{key} must be a string{' or null' if null else ''}")


def _bool(obj: dict[str, Any], key: str, at: str = "") -> bool:
    value = obj[key]
    if value is True or value is False:
        return value
    raise BadRecord(f"bad value: {at}{key} must be true or false")


def _count(obj: dict[str, Any], key: str, at: str = "", *, null: bool = False) -> Any:
    value = obj[key]
    if type(value) is int and 0 <= value <= MAX_INT:
        return value
    if value is None and null:
        return None
    raise BadRecord(
        f"bad value: {at}{key} must be a whole number from 0 to {MAX_INT}"
        f"{' or null' if null else ''}"
    )


def _object(obj: dict[str, Any], key: str, at: str = "") -> dict[str, Any]:
    value = obj[key]
    if type(value) is not dict:
        raise BadRecord(f"bad value: {at}{key} must be an object")
    return value


def _list(obj: dict[str, Any], key: str, at: str = "") -> list[Any]:
    value = obj[key]
    if type(value) is not list:
        raise BadRecord(f"bad value: {at}{key} must be a list")
    return value


def _strings(obj: dict[str, Any], key: str, at: str) -> list[str]:
    value = _list(obj, key, at)
    if not all(type(item) is str for item in value):
        raise BadRecord(f"bad value: {at}{key} must be a list of strings")
    return value


def _instant(obj: dict[str, Any], key: str, *, null: bool = False, at: str = "") -> Any:
    value = obj[key]
    if value is None and null:
        return None
    if type(value) is str and _INSTANT.fullmatch(value):
        try:
            return datetime.fromisoformat(value.upper()).astimezone(UTC)
        except (ValueError, OverflowError):  # 2026-02-30, or past year 9999 in UTC
            pass
    raise BadRecord(
        f"bad value: {at}{key} {show(value)} is not an RFC 3339 timestamp"
        f"{' or null' if null else ''}"
    )


def _custom_fields(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj["custom_fields"]
    if type(value) is dict and not value:
        return value
    try:
        return check_custom_fields(value)
    except ValidationFailed as invalid:
        raise BadRecord(f"bad value: custom_fields: {invalid.message}") from None


def _money(obj: dict[str, Any], key: str, at: str) -> str:
    """A two-place decimal string, from a string or a number with at most two decimals."""
    value = obj[key]
    amount: Decimal | None = None
    if (type(value) is str and _MONEY.fullmatch(value)) or type(value) is int:
        amount = Decimal(value)
    elif type(value) is float:
        try:
            amount = Decimal(repr(value))  # the shortest text that is this float: 19.99
        except InvalidOperation:
            amount = None
        if amount is not None and (
            not amount.is_finite() or amount.as_tuple().exponent < -2  # type: ignore[operator]
        ):
            amount = None
    if amount is None or abs(amount) >= 10**MONEY_MAX_DIGITS:
        raise BadRecord(
            f"bad value: {at}{key} {show(value)} is not an amount with at most two decimals"
        )
    return str((amount + 0).quantize(_CENTS))  # + 0 turns -0 into 0
