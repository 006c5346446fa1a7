"""How the importer's batches reach the database.

Two operations: `upsert` (insert or update by `(organization_id, public_id)`, answering each
row's primary key) and `insert` (plain rows: the children of a batch, whose old rows are
already deleted). Rows are dicts of column values by attname.

On SQLite they are `bulk_create(..., update_conflicts=True, unique_fields=...)`. On
PostgreSQL they are COPY, into a temporary table and then one
`INSERT ... SELECT ... ON CONFLICT DO UPDATE ... RETURNING`: the same statement semantics,
without Django's per-value preparation and psycopg's per-value quoting, which cost about
100 us a row, most of an import of a million messages (bench/results/import.md).
Both paths write the same rows with the same ids in the same order; the test suite runs on
both.
"""

import json
from typing import Any

from django.db import connection, models

UNIQUE_FIELDS = ["organization", "public_id"]


def upsert(
    model: type[models.Model], rows: list[dict[str, Any]], update: list[str]
) -> list[tuple[int, bool]]:
    """Insert the rows, or update the columns `update` (field names) of those whose public
    id exists in their organization. Answers (primary key, surely new) for each row, in
    order; new rows get ids in the order of `rows`. "Surely new" rows were inserted by this
    statement, so they have no children yet; where the backend cannot tell, it is False."""
    if connection.vendor == "postgresql":
        return _copy_upsert(model, rows, update)
    objects = [_instance(model, row) for row in rows]
    model._default_manager.bulk_create(
        objects, update_conflicts=True, unique_fields=UNIQUE_FIELDS, update_fields=update
    )
    return [(obj.pk, False) for obj in objects]


def insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy_insert(model, rows)
    else:
        model._default_manager.bulk_create([_instance(model, row) for row in rows], batch_size=2000)


def _instance(model: type[models.Model], row: dict[str, Any]) -> Any:
    # Positional arguments in column order take Django's fast path (half the cost of
    # keywords); a column the row lacks takes the field's default (an agent's created_at).
    return model(*[row[name] if name in row else default() for name, default in _columns(model)])


_COLUMNS: dict[type[models.Model], list[tuple[str, Any]]] = {}


def _columns(model: type[models.Model]) -> list[tuple[str, Any]]:
    columns = _COLUMNS.get(model)
    if columns is None:
        columns = [(field.attname, field.get_default) for field in model._meta.concrete_fields]
        _COLUMNS[model] = columns
    return columns


# -- PostgreSQL -------------------------------------------------------------------------------


def _column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(str(model._meta.get_field(name).column))  # type: ignore[union-attr]


def _copy_columns(model: type[models.Model]) -> list[tuple[str, str, bool, Any]]:
    """(attname, column, is JSON, default) of every column but the key."""
    return [
        (f.attname, str(f.column), f.get_internal_type() == "JSONField", f.get_default)
        for f in model._meta.concrete_fields
        if not f.primary_key
    ]


def _copy(cursor: Any, table: str, columns: list[tuple[str, str, bool, Any]], rows: Any) -> None:
    names = ", ".join(connection.ops.quote_name(column) for _, column, _, _ in columns)
    with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _values(columns: list[tuple[str, str, bool, Any]], row: dict[str, Any]) -> list[Any]:
    values = []
    for name, _, is_json, default in columns:
        value = row[name] if name in row else default()
        # JSON goes as its text; the column's type (jsonb) parses it, as Django's adapter's
        # output would be.
        values.append(json.dumps(value) if is_json and value is not None else value)
    return values


def _copy_upsert(
    model: type[models.Model], rows: list[dict[str, Any]], update: list[str]
) -> list[tuple[int, bool]]:
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    stage = quote(f"transfer_stage_{model._meta.db_table}")
    columns = _copy_columns(model)
    names = ", ".join(quote(column) for _, column, _, _ in columns)
    updated = [_column(model, name) for name in update]
    updates = ", ".join(f"{column} = EXCLUDED.{column}" for column in updated)
    conflict = ", ".join(_column(model, name) for name in UNIQUE_FIELDS)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor
        # One staging table per model for the transaction (ON COMMIT DROP), emptied per
        # batch; `seq` keeps the file's order, which the INSERT gives the new ids.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "  # noqa: S608
            f"SELECT 0::integer AS seq, {names} FROM {table} WITH NO DATA"
        )
        cursor.execute(f"TRUNCATE {stage}")
        staged = [(number, *_values(columns, row)) for number, row in enumerate(rows)]
        _copy(cursor, stage, [("seq", "seq", False, None), *columns], staged)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} ORDER BY seq "  # noqa: S608
            f"ON CONFLICT ({conflict}) DO UPDATE SET {updates} "
            # xmax is 0 exactly for a row version this INSERT created rather than updated.
            f"RETURNING id, organization_id, public_id, xmax = 0"
        )
        keys = {(org, public_id): (pk, new) for pk, org, public_id, new in cursor}
    return [keys[(row["organization_id"], row["public_id"])] for row in rows]


def _copy_insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    columns = _copy_columns(model)
    with connection.cursor() as wrapper:
        _copy(
            wrapper.cursor,
            connection.ops.quote_name(model._meta.db_table),
            columns,
            (_values(columns, row) for row in rows),
        )
