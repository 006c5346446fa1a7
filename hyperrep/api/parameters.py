"""How query parameters are declared in OpenAPI. An empty value means no value (a list's
filters, `limit`, `cursor`), and the schema says so. (Apart from hyperrep/api/schema.py,
which loads the generator: the filters and the paginator import this while DRF loads.)"""

from typing import Any

EMPTY = {"type": "string", "maxLength": 0}
INSTANT = {
    "anyOf": [{"type": "string", "format": "date-time"}, {"type": "string", "format": "date"}]
}


def or_empty(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema that also takes an empty value."""
    return {"anyOf": [*schema.get("anyOf", [schema]), EMPTY]}
