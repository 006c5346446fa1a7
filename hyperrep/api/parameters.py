"""How query parameters are declared in OpenAPI. An empty value means no value (a list's
filters, `limit`, `cursor`), and the schema says so. (Apart from hyperrep/api/schema.py,
which loads the generator: the filters and the paginator import this while DRF loads.)"""

from typing import Any

EMPTY = {"type": "string", "maxLength": 0}
INSTANT = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}],
    "description": "ISO 8601: a date (midnight UTC) or a date-time with `Z`, an offset, or none "
    "(UTC). Once in UTC it must fall within the years 1 to 9999 (otherwise 422).",
}


def or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema that also takes an empty value."""
    extended = {**schema, "anyOf": [*schema.get("anyOf", [schema]), EMPTY]}
    return {key: value for key, value in extended.items() if key in ("anyOf", "description")}
