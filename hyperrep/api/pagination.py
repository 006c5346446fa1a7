"""The one paginator: keyset (seek) pages with encrypted, collection-bound cursors.

Every list orders by its view's `ordering`, a total order ending in the internal id. The next
page starts after the last row's key, written as the row comparison `(f1, id) < (v1, v2)` so
that PostgreSQL bounds the index scan on both columns. No OFFSET and no COUNT: page 2,000
costs what page 1 costs, and rows inserted while a client pages never make it skip or repeat
a row.

A cursor is the last row's key and the collection's scope (path and filters), encrypted and
authenticated with Fernet. Clients see an opaque string that reveals no internal ids; a
cursor that was altered, or is used on another collection, organization or filter set, is
`400 Invalid cursor`.
"""

import hashlib
import json
import re
from typing import Any

from cryptography.fernet import InvalidToken
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import QueryDict
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response

from hyperrep.api.parameters import or_empty
from hyperrep.crypto import fernet
from hyperrep.errors import InvalidValue

DEFAULT_LIMIT = 50
PAGE_PARAMETERS = ("limit", "cursor")
MAX_LIMIT = 500
_LIMIT = re.compile(r"[1-9][0-9]{0,2}")
INVALID_CURSOR = "Invalid cursor"


def parse_limit(raw: str | None) -> int:
    if not raw:  # absent, or empty: an empty value is no value
        return DEFAULT_LIMIT
    if _LIMIT.fullmatch(raw) and 1 <= int(raw) <= MAX_LIMIT:
        return int(raw)
    raise ValidationError({"limit": f"Must be an integer from 1 to {MAX_LIMIT}."})


def collection_scope(path: str, params: QueryDict) -> str:
    """What a cursor is bound to: the collection's path and every filter but the page's
    (an empty filter is no filter)."""
    filters = sorted(
        (name, value)
        for name, values in params.lists()
        if name not in PAGE_PARAMETERS
        for value in values
        if value
    )
    scope = json.dumps([path.rstrip("/"), filters])
    return hashlib.sha256(scope.encode()).hexdigest()[:32]


def encode_cursor(key: list[Any], scope: str) -> str:
    """The opaque cursor of the page that follows the row whose ordering values are `key`."""
    payload = json.dumps(
        {"s": scope, "k": [v.isoformat() if hasattr(v, "isoformat") else v for v in key]},
        separators=(",", ":"),
    )
    return fernet("pagination.cursor").encrypt(payload.encode()).decode()


class KeysetPagination(BasePagination):
    def paginate_queryset(  # type: ignore[override]  # keyset pages need a QuerySet
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list:
        self.limit = parse_limit(request.query_params.get("limit"))
        self.cursor = request.query_params.get("cursor") or None  # `cursor=`: the first page
        self.ordering: tuple[str, ...] = view.ordering
        scope = collection_scope(request.path, request.query_params)
        queryset = queryset.order_by(*self.ordering)
        if self.cursor is not None:
            queryset = queryset.filter(self._after(self._decode(self.cursor, scope, queryset)))
        rows = list(queryset[: self.limit + 1])
        self.next_cursor = None
        if len(rows) > self.limit:
            rows = rows[: self.limit]
            self.next_cursor = encode_cursor(
                [getattr(rows[-1], name) for name, _ in self._fields()], scope
            )
        return rows

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "data": data,
                "pagination": {
                    "limit": self.limit,
                    "cursor": self.cursor,
                    "next_cursor": self.next_cursor,
                    "has_more": self.next_cursor is not None,
                },
            }
        )

    # -- keys and cursors -------------------------------------------------------------------

    def _fields(self) -> list[tuple[str, bool]]:
        return [(name.lstrip("-"), name.startswith("-")) for name in self.ordering]

    def _after(self, key: list[Any]) -> Q:
        """Rows strictly after `key` in the ordering, as one row-value comparison,
        `(created_at, id) < (t, i)`: PostgreSQL bounds the index scan on every column of it,
        so page N costs what page 1 costs even inside a long run of equal timestamps.
        Backends without row values get Django's equivalent OR expansion; the redundant
        `created_at <= t` in front is what lets SQLite bound its scan too."""
        fields = self._fields()
        directions = {descending for _, descending in fields}
        assert len(directions) == 1, "keyset orderings run one way: all ascending or all descending"
        descending = directions.pop()
        columns = Tuple(*(F(name) for name, _ in fields))
        comparison = TupleLessThan if descending else TupleGreaterThan
        bound = Q(**{f"{fields[0][0]}__{'lte' if descending else 'gte'}": key[0]})
        return bound & Q(comparison(columns, key))

    def _decode(self, cursor: str, scope: str, queryset: QuerySet) -> list[Any]:
        try:
            payload = json.loads(fernet("pagination.cursor").decrypt(cursor.encode()))
            if payload["s"] != scope or len(payload["k"]) != len(self.ordering):
                raise InvalidValue(INVALID_CURSOR)
            return [
                queryset.model._meta.get_field(name).to_python(value)
                for (name, _), value in zip(self._fields(), payload["k"], strict=True)
            ]
        except (InvalidToken, ValueError, KeyError, TypeError, DjangoValidationError):
            raise InvalidValue(INVALID_CURSOR) from None

    # -- OpenAPI ----------------------------------------------------------------------------

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT}).",
                "schema": or_empty({"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "`next_cursor` of the previous page of the same collection "
                "(empty: the first page).",
                "schema": {"type": "string"},
            },
        ]

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["data", "pagination"],
            "properties": {
                "data": schema,
                "pagination": {
                    "type": "object",
                    "required": ["limit", "cursor", "next_cursor", "has_more"],
                    "properties": {
                        "limit": {"type": "integer"},
                        "cursor": {"type": "string", "nullable": True},
                        "next_cursor": {"type": "string", "nullable": True},
                        "has_more": {"type": "boolean"},
                    },
                },
            },
        }
