"""`custom_fields`, the one rule for every row that has them (contacts, companies, sales), in
the API, the import and the admin: a JSON object of at most 50 keys of 1-64 characters whose
values are strings of at most 2,000 characters, numbers, booleans or null."""

import math
from typing import Any

from hyperrep.errors import ValidationFailed

MAX_KEYS = 50
MAX_KEY_LENGTH = 64
MAX_VALUE_LENGTH = 2000

NOT_OBJECT = "Must be a JSON object."
TOO_MANY = f"At most {MAX_KEYS} keys are allowed."
BAD_KEY = f"Keys must be 1 to {MAX_KEY_LENGTH} characters."
BAD_VALUE = (
    f"Values must be strings (at most {MAX_VALUE_LENGTH} characters), numbers, booleans or null."
)


def check_custom_fields(value: Any) -> dict[str, Any]:
    """The value, if it is valid custom fields; ValidationFailed with the reason otherwise."""
    if not isinstance(value, dict):
        raise ValidationFailed(NOT_OBJECT)
    if len(value) > MAX_KEYS:
        raise ValidationFailed(TOO_MANY)
    for key, item in value.items():
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise ValidationFailed(BAD_KEY)
        if isinstance(item, str):
            if len(item) > MAX_VALUE_LENGTH:
                raise ValidationFailed(BAD_VALUE)
        elif isinstance(item, float):
            if not math.isfinite(item):  # JSON has no NaN; Python's json module reads one
                raise ValidationFailed(BAD_VALUE)
        elif not (item is None or isinstance(item, bool | int)):
            raise ValidationFailed(BAD_VALUE)
    return value


# What OpenAPI (3.0) says of it. (Key lengths cannot be said in 3.0: no propertyNames.)
SCHEMA: dict[str, Any] = {
    "type": "object",
    "maxProperties": MAX_KEYS,
    "description": f"At most {MAX_KEYS} keys of 1 to {MAX_KEY_LENGTH} characters; values are "
    f"strings of at most {MAX_VALUE_LENGTH} characters, numbers, booleans or null.",
    "additionalProperties": {
        "anyOf": [
            {"type": "string", "maxLength": MAX_VALUE_LENGTH, "nullable": True},
            {"type": "number"},
            {"type": "boolean"},
        ]
    },
}
