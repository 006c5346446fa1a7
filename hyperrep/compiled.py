"""Queries of a fixed shape, compiled once per database connection and sent with each call's
values.

Every API request starts with the same query: its key, with the organization its path names
(apps/keys/services.py). Through the ORM, building and compiling that query took longer than
its round trip (0.55 ms against 0.35 ms in one process). A `CompiledQuery` builds its
queryset once per connection, with a marker in the place of each value, keeps the compiler
and its SQL, and from then on only sends that SQL with the call's values in the markers'
places: the SQL the queryset itself sends, Django's converters applied to the rows that come
back (JSON parsed, SQLite's datetimes read).

Only for querysets whose SQL does not depend on their values, and for string values (the
markers are strings): equality lookups on text columns (`prefix=prefix`), no `__in` of a
list, no `__contains`. A value the ORM rewrites before sending (`%value%`) is refused when
the query is compiled, so such a queryset fails at its first call, not with wrong SQL later.
The tenancy guard runs on the queryset then too.
"""

import inspect
import threading
from collections.abc import Callable
from typing import Any, NamedTuple
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet

from hyperrep.tenancy.models import TenantQuerySet


class _Compiled(NamedTuple):
    sql: str
    # For each parameter of the SQL: the name of the call's value that goes there, or None
    # for a constant of the queryset (`is_active=True`), which `constants` then holds.
    slots: tuple[str | None, ...]
    constants: tuple[Any, ...]
    compiler: Any
    converters: dict[int, Any]


class CompiledQuery:
    """`CompiledQuery(lambda prefix: ApiKey.objects.filter(prefix=prefix).values_list(...))`;
    `.rows(prefix="...")` is what the queryset would give as tuples, sent as one query."""

    def __init__(self, build: Callable[..., QuerySet[Any]]) -> None:
        self.build = build
        self.names = tuple(inspect.signature(build).parameters)
        # Per connection, as Django keeps one per thread: a compiler and its converters are
        # bound to the connection they were made for.
        self._compiled: WeakKeyDictionary[Any, _Compiled] = WeakKeyDictionary()
        self._lock = threading.Lock()

    def rows(self, using: str = DEFAULT_DB_ALIAS, **values: Any) -> list[tuple[Any, ...]]:
        if values.keys() != set(self.names):
            raise TypeError(f"{self.build} takes {self.names}, not {tuple(values)}")
        connection = connections[using]
        compiled = self._compiled.get(connection)
        if compiled is None:
            compiled = self._compile(using)
            with self._lock:
                self._compiled[connection] = compiled
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
        markers = {f"\x00compiled:{name}\x00": name for name in self.names}
        queryset = self.build(*markers)
        if isinstance(queryset, TenantQuerySet):
            queryset._check_scope()  # a tenant table's query names its organization
        compiler = queryset.query.get_compiler(using)
        sql, params = compiler.as_sql()
        slots = tuple(markers.get(param) if isinstance(param, str) else None for param in params)
        unplaced = set(self.names) - set(slots)
        rewritten = [
            param
            for param, slot in zip(params, slots, strict=True)
            if slot is None and isinstance(param, str) and "\x00compiled:" in param
        ]
        if unplaced or rewritten:
            raise TypeError(
                f"{self.build}: the SQL does not take {sorted(unplaced)} as they are "
                f"(rewritten: {rewritten}); compile only equality lookups"
            )
        constants = tuple(
            None if slot else param for param, slot in zip(params, slots, strict=True)
        )
        selected = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        return _Compiled(sql, slots, constants, compiler, compiler.get_converters(selected))
