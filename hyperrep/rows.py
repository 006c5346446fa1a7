"""Rows: a page read straight from the cursor, without model instances.

A list renders up to 500 rows, and building a model instance costs more than rendering it:
for a page of 500 messages and their tracked links, `Model.__init__` and the related
descriptors were a third of the request. `queryset.rows()` (TenantQuerySet) sends the same
SQL, byte for byte, and gives each row as a named tuple of the model's columns (by attname:
`conversation_id`) and the queryset's annotations, which also carries the model's properties
and `pk`. A serializer reads a row as it reads an instance, so there is one rendering path
for both (hyperrep/api/serializers.py): a retrieve renders an instance, a list its rows.

The queryset's Prefetch lookups come along, each a reverse foreign key with `to_attr`: one
query per relation for the whole page, its rows rows too, the page's ids sent as one array
(`AnyOf`) rather than an IN list of one placeholder per id, each parent's list in the order
of the lookup's queryset.
"""

import json
from collections import namedtuple
from functools import lru_cache
from operator import attrgetter
from typing import Any

from django.db import models
from django.db.models import F, Lookup, Prefetch
from django.db.models.fields.reverse_related import ManyToOneRel
from django.db.models.query import BaseIterable
from django.db.models.sql.constants import MULTI


class AnyOf(Lookup):
    """`column = ANY(%s)`: the values as one array parameter on PostgreSQL however many there
    are; elsewhere (SQLite) `column IN (SELECT value FROM json_each(%s))`, one JSON array."""

    lookup_name = "any_of"
    prepare_rhs = False

    def __init__(self, column: str, values: list[Any]) -> None:
        super().__init__(F(column), list(values))

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        column, params = self.process_lhs(compiler, connection)  # a column: no user text
        sql = f"{column} IN (SELECT value FROM json_each(%s))"  # noqa: S608
        return sql, (*params, json.dumps(self.rhs))

    def as_postgresql(self, compiler: Any, connection: Any) -> Any:
        column, params = self.process_lhs(compiler, connection)
        return f"{column} = ANY(%s)", (*params, self.rhs)


class RowIterable(BaseIterable):
    """What `rows()` yields: the query's own columns, converted as Django converts them (JSON
    parsed, SQLite's datetimes read), one column at a time, into one row class per model,
    columns and children (to_attr lists, empty until the page's prefetch fills them)."""

    def __iter__(self) -> Any:
        queryset: Any = self.queryset
        if queryset.query.select_related:
            raise TypeError("rows are one table's columns and annotations: no select_related")
        compiler = queryset.query.get_compiler(queryset.db)
        chunks = compiler.execute_sql(
            MULTI, chunked_fetch=self.chunked_fetch, chunk_size=self.chunk_size
        )
        selected = compiler.select[: compiler.col_count]
        columns = tuple(alias or expression.target.attname for expression, _, alias in selected)
        found: list[Any] = [values for chunk in chunks for values in chunk]
        converters = compiler.get_converters([expression for expression, _, _ in selected])
        if converters:
            found = [list(values) for values in found]
            connection = compiler.connection
            for position, (functions, expression) in converters.items():
                for values in found:
                    value = values[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    values[position] = value
        children = tuple(_to_attr(lookup) for lookup in queryset._prefetch_related_lookups)
        row = row_class(queryset.model, columns, children)
        new = tuple.__new__
        if not children:
            return (new(row, values) for values in found)
        return (new(row, (*values, *([] for _ in children))) for values in found)


def _to_attr(lookup: Any) -> str:
    if not (isinstance(lookup, Prefetch) and lookup.to_attr and lookup.queryset is not None):
        raise TypeError("rows take Prefetch(relation, queryset=..., to_attr=...) lookups")
    return lookup.to_attr


@lru_cache(maxsize=256)
def row_class(
    model: type[models.Model], columns: tuple[str, ...], children: tuple[str, ...]
) -> Any:
    properties = {
        name: value
        for klass in reversed(model.__mro__)
        if issubclass(klass, models.Model) and klass is not models.Model
        for name, value in vars(klass).items()
        if isinstance(value, property) and name not in columns and name not in children
    }
    return type(
        f"{model.__name__}Row",
        (namedtuple(f"{model.__name__}Row", (*columns, *children)),),
        {"__slots__": (), "pk": property(attrgetter(model._meta.pk.attname)), **properties},
    )


def prefetch(model: type[models.Model], parents: list[Any], lookups: tuple[Any, ...]) -> None:
    """Fill each parent row's lists: one query per lookup for all of `parents`."""
    for lookup in lookups:
        relation = model._meta.get_field(lookup.prefetch_through)
        if not isinstance(relation, ManyToOneRel):
            raise TypeError(f"rows prefetch reverse foreign keys only, not {relation}")
        link = relation.field  # the child's foreign key to the parent
        key = attrgetter(link.target_field.attname)
        lists = {key(parent): getattr(parent, _to_attr(lookup)) for parent in parents}
        if not lists:
            continue
        children = lookup.queryset.filter(AnyOf(link.attname, list(lists))).rows()
        parent_of = attrgetter(link.attname)
        for child in children:
            lists[parent_of(child)].append(child)
