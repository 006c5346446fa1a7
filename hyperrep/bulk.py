"""Saving some fields of many rows in one statement, and deleting many rows a batch at a time.

Django's `QuerySet.bulk_update` writes a CASE expression per field with a branch per row, and
building it costs about 0.4 ms a row and field in Python: more than the database takes to run
it. `update_each` sends the rows' values as a VALUES list instead, joined on the primary key:
`UPDATE t SET f = v.column2 … FROM (VALUES (pk, f …), …) AS v WHERE t.id = v.column1`
(PostgreSQL, and SQLite from 3.33, name a VALUES list's columns column1, column2, …).
Values are parameters, never SQL. PostgreSQL types a VALUES column from its values, so a
column of NULLs would be text: each is cast to its field's type.
"""

from collections.abc import Sequence
from typing import Any, cast

from django.db import connection, models


def update_each(rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Save these fields of these rows (of one model, loaded already: no organization scope
    is checked here), each row to its own values, in one UPDATE."""
    if not rows:
        return
    meta = rows[0]._meta
    pk = cast(models.Field, meta.pk)
    columns = [cast(models.Field, meta.get_field(name)) for name in fields]

    def quote(name: str | None) -> str:
        return str(connection.ops.quote_name(str(name)))

    def typed(field: models.Field, number: int) -> str:
        value = f"v.column{number}"
        if connection.vendor != "postgresql":
            return value
        return f"CAST({value} AS {field.cast_db_type(connection)})"

    table = quote(meta.db_table)
    assignments = ", ".join(
        f"{quote(field.column)} = {typed(field, number)}"
        for number, field in enumerate(columns, start=2)
    )
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    values = ", ".join([row] * len(rows))
    params: list[Any] = []
    for instance in rows:
        params.append(instance.pk)
        params.extend(
            field.get_db_prep_save(getattr(instance, field.attname), connection)
            for field in columns
        )
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v "  # noqa: S608  # names quoted, values parameters
        f"WHERE {table}.{quote(pk.column)} = v.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


# A housekeeping run deletes at most DELETE_BATCHES batches of DELETE_BATCH rows; the next
# run goes on. Small deletes keep each transaction (and its locks) short.
DELETE_BATCH = 1000
DELETE_BATCHES = 100


def delete_in_batches(rows: models.QuerySet) -> int:
    """Delete these rows (a housekeeping selection, already scoped as the caller means it) a
    batch at a time, by primary key; how many were deleted."""
    deleted = 0
    for _ in range(DELETE_BATCHES):
        keys = list(rows.values_list("pk", flat=True)[:DELETE_BATCH])
        if not keys:
            break
        deleted += rows.filter(pk__in=keys).delete()[0]
    return deleted
