"""JSON columns that keep one key order on every database.

PostgreSQL's jsonb stores an object's keys in its own order (shorter keys first, then
bytewise) and gives them back that way; SQLite gives them back as they were written. So that
a row renders the same bytes on both, and an organization exported from one database imports
into the other and exports back identical, every JSON column writes its objects in jsonb's
order everywhere, and the saved instance holds them in that order too.
"""

import json
from typing import Any

from django.db import models


def _jsonb_order(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # surrogatepass: a lone surrogate (only SQLite can store one) sorts instead of failing.
    return dict(
        sorted(pairs, key=lambda pair: (len(pair[0].encode("utf-8", "surrogatepass")), pair[0]))
    )


def canonical(value: Any) -> Any:
    """`value` as its column stores it: keys turned to strings, as Django's JSON encoding does,
    and every object's keys in jsonb's order. A round trip through the json module: its C
    parser orders each object as it builds it, at any depth that could be written at all."""
    if not isinstance(value, dict | list):  # scalars, None, expressions of update()
        return value
    return json.loads(json.dumps(value), object_pairs_hook=_jsonb_order)


class JSONField(models.JSONField):
    def deconstruct(self) -> Any:
        # Migrations see Django's own JSONField: the column is the same, and the key order is
        # how values are written, not schema. (A new path would make SQLite rebuild every
        # table with a JSON column for nothing.)
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = canonical(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value

    def get_prep_value(self, value: Any) -> Any:  # queryset.update() and lookups
        return super().get_prep_value(canonical(value))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        # A page reads this for every JSON value of every row, most of them null or empty (a
        # message's cc, bcc and form body): those without json.loads.
        if value is None:
            return None
        if value == "[]":
            return []
        if value == "{}":
            return {}
        if value.__class__ is not str:  # what SQLite gives for a key of a JSON value
            return super().from_db_value(value, expression, connection)
        try:  # Django's own reading of text, without its call per value
            return json.loads(value, cls=self.decoder)
        except json.JSONDecodeError:
            return value
