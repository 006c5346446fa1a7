"""JSON columns that keep one key order on every database.

PostgreSQL's jsonb stores an object's keys in its own order (shorter keys first, then
bytewise) and gives them back that way; SQLite gives them back as they were written. So that
a row renders the same bytes on both, and an organization exported from one database imports
into the other and exports back identical, every JSON column writes its objects in jsonb's
order everywhere, and the saved instance holds them in that order too.
"""

from typing import Any

from django.db import models


def canonical(value: Any) -> Any:
    """`value` with the keys of every object in it in jsonb's order."""
    if isinstance(value, dict):
        return {
            key: canonical(value[key])
            for key in sorted(value, key=lambda key: (len(key.encode()), key))
        }
    if isinstance(value, list):
        return [canonical(item) for item in value]
    return value


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
