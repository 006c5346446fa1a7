"""Code that migrations run, frozen as it was when they were written.

A migration must do the same thing on every database it ever meets, however the live code
changes later. So what a migration runs lives here or in the migration itself, never in a
module the application changes. Never edit a function here: a migration that needs other
behaviour gets a new function.
"""

import json
from typing import Any

from django.db import migrations


def _jsonb_order_2026_11(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    return dict(
        sorted(pairs, key=lambda pair: (len(pair[0].encode("utf-8", "surrogatepass")), pair[0]))
    )


def _canonical_2026_11(value: Any) -> Any:
    if not isinstance(value, dict | list):
        return value
    return json.loads(json.dumps(value), object_pairs_hook=_jsonb_order_2026_11)


def reorder_json_2026_11(model: str, *fields: str) -> migrations.RunPython:
    """A data migration (2026-11): rows that SQLite stored before JSON columns kept
    PostgreSQL's jsonb key order (shorter keys first, then bytewise) are rewritten in it.
    PostgreSQL's jsonb always kept it: nothing to do there."""

    def forwards(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            return
        rows = apps.get_model(model)._base_manager.using(schema_editor.connection.alias)
        last = None
        while True:
            # Each chunk is read whole before any of it is written: SQLite leaves undefined
            # what a statement still reading a table sees of writes to it.
            chunk = rows.order_by("pk").values_list("pk", *fields)
            chunk = list((chunk if last is None else chunk.filter(pk__gt=last))[:2000])
            if not chunk:
                return
            for pk, *values in chunk:
                ordered = [_canonical_2026_11(value) for value in values]
                if json.dumps(ordered) != json.dumps(values):
                    rows.filter(pk=pk).update(**dict(zip(fields, ordered, strict=True)))
            last = chunk[-1][0]

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)
