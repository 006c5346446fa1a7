"""The one id scheme of the API.

Ids the server mints are a type prefix plus 22 random base62 characters (`ctc_3hG...`).
Imported ids are kept as given, so any string of 1-255 characters from [A-Za-z0-9._=-] is
an id, unless it carries the minted prefix of another type. An id that cannot be valid is
`400 Invalid <name>` (`Invalid organization_id`, `Invalid contact_id`, ...); any other id is
looked up within the organization (`404 Contact not found`, ...).
"""

import re
import secrets
import string
from typing import Any

from django.db import models

from hyperrep.errors import InvalidValue

BASE62 = string.digits + string.ascii_letters
MINTED_LENGTH = 22

# Prefix -> what the id names, for every type the server mints.
PREFIXES = {
    "org": "organization",
    "agt": "agent",
    "cmp": "company",
    "ctc": "contact",
    "cnv": "conversation",
    "msg": "message",
    "lnk": "link",
    "sal": "sale",
    "mdr": "message draft",
    "rdr": "response draft",
    "whe": "webhook endpoint",
    "evt": "event",
    "whd": "webhook delivery",
}

ID_PATTERN = "^[A-Za-z0-9._=-]{1,255}$"
_ID_SHAPE = re.compile(ID_PATTERN)


def mint(prefix: str) -> str:
    return f"{prefix}_" + "".join(secrets.choice(BASE62) for _ in range(MINTED_LENGTH))


def can_be_valid(value: object, prefix: str) -> bool:
    """False for ids that no object of the `prefix` type can have."""
    if not isinstance(value, str) or not _ID_SHAPE.fullmatch(value):
        return False
    head, underscore, _ = value.partition("_")
    return not (underscore and head in PREFIXES and head != prefix)


def check(value: object, *, prefix: str, name: str) -> str:
    """Return the id, or raise `400 Invalid <name>` when it cannot be valid."""
    if not can_be_valid(value, prefix):
        raise InvalidValue(f"Invalid {name}")
    assert isinstance(value, str)
    return value


class PublicIdField(models.CharField):
    """The public id column: minted on first save unless the row already has one (imports)."""

    def __init__(self, *args: Any, prefix: str, **kwargs: Any) -> None:
        if prefix not in PREFIXES:
            raise ValueError(f"unknown id prefix {prefix!r}")
        self.prefix = prefix
        kwargs.setdefault("max_length", 255)
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        kwargs["prefix"] = self.prefix
        if kwargs.get("max_length") == 255:
            del kwargs["max_length"]
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)
        if not value:
            value = mint(self.prefix)
            setattr(model_instance, self.attname, value)
        return value
