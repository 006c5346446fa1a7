"""Queries of a fixed shape, compiled once per database connection and sent with each call's
values.

Every API request starts with the same query: its key, with the organization its path names
(apps/keys/services.py); a nested list then looks up its parent by public id within the
organization (hyperrep/tenancy/models.py, `by_public_id`). Through the ORM, building and
compiling such a query took longer than its round trip (the key's: 0.55 ms against 0.35 ms
in one process). A `CompiledQuery` builds its queryset once per connection, with a marker in
the place of each value, keeps the compiler and its SQL, and from then on only sends that
SQL with the call's values in the markers' places: the SQL the queryset itself sends,
Django's converters applied to the rows that come back (JSON parsed, SQLite's datetimes
read), and for a queryset of model instances, instances as Django builds them.

Only for querysets whose SQL does not depend on their values: equality lookups (`prefix=
prefix`), no `__in` of a list, no `__contains`, no None. A value is a string, or an int where
the builder's parameter says `int` (for bigint and foreign-key columns: the int marker is
beyond a 4-byte integer's range); a call's value of another type is refused, as it would go
into the SQL without the ORM's preparation. A value the ORM rewrites before sending
(`%value%`) is refused when the query is compiled, so such a queryset fails at its first
call, not with wrong SQL later. The tenancy guard runs on the queryset then too.
"""

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable

# An int marker is a plain int by the time the ORM has prepared it: one no real value takes.
_INT_MARKER = -(2**62)


class _Compiled(NamedTuple):
    sql: str
    # For each parameter of the SQL: the name of the call's value that goes there, or None
    # for a constant of the queryset (`is_active=True`), which `constants` then holds.
    slots: tuple[str | None, ...]
    constants: tuple[Any, ...]
    compiler: Any
    converters: dict[int, Any]
    # A queryset of model instances: their model and the attnames of the selected columns.
    model: type[Model] | None
    attnames: tuple[str, ...]


class CompiledQuery:
    """`CompiledQuery(lambda prefix: ApiKey.objects.filter(prefix=prefix).values_list(...))`;
    `.rows(prefix="...")` is what the queryset would give as tuples, sent as one query;
    `.instances(...)` what a queryset of model instances would give."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        self.build = build
        self.label = f"{build.__module__}.{build.__qualname__}"
        parameters = inspect.signature(build, eval_str=True).parameters
        if "using" in parameters:
            raise TypeError(f"{self.label}: `using` names the database, not a value")
        self.markers: dict[str, Any] = {
            name: _INT_MARKER - index if parameter.annotation is int else f"\x00compiled:{name}\x00"
            for index, (name, parameter) in enumerate(parameters.items())
        }

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        connection = connections[using]
        return self._run(connection, self._compiled(connection), values)

    def instances(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[Any]:
        connection = connections[using]
        compiled = self._compiled(connection)
        if compiled.model is None:
            raise TypeError(f"{self.label} gives values, not model instances: use rows()")
        found = self._run(connection, compiled, values)
        return [compiled.model.from_db(using, compiled.attnames, row) for row in found]

    def _compiled(self, connection: Any) -> _Compiled:
        # Kept on the connection, one per thread, which the compiler and its converters point
        # back to: they go when it goes.
        kept = connection.__dict__.setdefault("_compiled_queries", {})
        compiled = kept.get(self)
        if compiled is None:
            compiled = kept[self] = self._compile(connection.alias)
        return compiled

    def _run(self, connection: Any, compiled: _Compiled, values: dict[str, Any]) -> list[Any]:
        if values.keys() != self.markers.keys():
            raise TypeError(f"{self.label} takes {tuple(self.markers)}, not {tuple(values)}")
        for name, value in values.items():
            if type(value) is not type(self.markers[name]):
                expected = type(self.markers[name]).__name__
                raise TypeError(f"{self.label}: {name} is {expected}, not {value!r}")
        params = [
            constant if name is None else values[name]
            for name, constant in zip(compiled.slots, compiled.constants, strict=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            found = cursor.fetchall()
        if compiled.converters:
            found = [
                tuple(row) for row in compiled.compiler.apply_converters(found, compiled.converters)
            ]
        return found

    def _compile(self, using: str) -> _Compiled:
        queryset = self.build(**self.markers)
        # A tenant table's query names its organization (TenantQuerySet's guard; the tenancy
        # core builds on this module, so it is not imported here).
        check_scope = getattr(queryset, "_check_scope", None)
        if check_scope is not None:
            check_scope()
        compiler = queryset.query.get_compiler(using)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # an int marker out of a 4-byte column's range
            raise TypeError(f"{self.label}: int values only for bigint columns") from None
        if compiler.has_extra_select:  # distinct() ordered by columns it does not select
            raise TypeError(f"{self.label}: no columns beyond those selected")
        name_of = {(type(marker), marker): name for name, marker in self.markers.items()}
        slots = tuple(
            name_of.get((type(param), param)) if type(param) in (str, int) else None
            for param in params
        )
        unplaced = set(self.markers) - set(slots)
        rewritten = [
            param
            for param, slot in zip(params, slots, strict=True)
            if slot is None and isinstance(param, str) and "\x00compiled:" in param
        ]
        if unplaced or rewritten:
            raise TypeError(
                f"{self.label}: the SQL does not take {sorted(unplaced)} as they are "
                f"(rewritten: {rewritten}); compile only equality lookups"
            )
        constants = tuple(
            None if slot else param for param, slot in zip(params, slots, strict=True)
        )
        selected = compiler.select[: compiler.col_count]
        converters = compiler.get_converters([expression for expression, _, _ in selected])
        if queryset._iterable_class is not ModelIterable:  # values(), values_list()
            return _Compiled(sql, slots, constants, compiler, converters, None, ())
        if (
            queryset.query.select_related
            or compiler.annotation_col_map
            or queryset._prefetch_related_lookups  # type: ignore[attr-defined]
            or queryset._known_related_objects  # type: ignore[attr-defined]
        ):
            raise TypeError(f"{self.label}: instances of one model, nothing related")
        attnames = tuple(expression.target.attname for expression, _, _ in selected)
        return _Compiled(sql, slots, constants, compiler, converters, queryset.model, attnames)
