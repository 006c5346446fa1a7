"""The floor of `GET /api/v2/organizations/{org}/contacts`: plain Django, no DRF.

It does the API's work through the same services (api_key_authenticate, organization_get,
contact_list), so it sends the API's SQL string for string (bench/contacts_list.py checks it),
and writes the API's JSON bytes, cursor included. It skips DRF's view machinery (request
wrapping, authentication and permission classes, filter backend, paginator class, serializer,
renderer) and the ORM's model instances: the page's rows come as tuples from the cursor. Only
the first page: it is a yardstick, not an endpoint.
"""

import json
from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException

from apps.contacts.selectors import contact_list
from apps.keys.services import KeyRejected, api_key_authenticate
from apps.organizations.selectors import organization_get
from hyperrep.api.exceptions import error_response
from hyperrep.api.pagination import collection_scope, encode_cursor
from hyperrep.api.serializers import format_datetime

ORDERING = ("-created_at", "-id")
# The columns of the page query, in its order (the model's fields, then the annotation).
COLUMNS = (
    "id",
    "organization_id",
    "public_id",
    "name",
    "email",
    "phone_number",
    "company_id",
    "company_role",
    "custom_fields",
    "created_at",
    "company_public_id",
)


def contacts_floor(request: HttpRequest, organization_id: str) -> HttpResponse:
    plaintext = request.headers.get("X-API-KEY", "").strip()
    if not plaintext:
        return error_response(403, "Missing API Key")
    try:
        key = api_key_authenticate(plaintext)
    except KeyRejected as rejected:
        return error_response(403, str(rejected))
    try:
        organization = organization_get(api_key=key, organization_id=organization_id)
    except APIException as failure:  # 400 Invalid organization_id, 404 Organization not found
        return error_response(failure.status_code, str(failure.detail))
    limit = int(request.GET.get("limit", "50"))
    page = contact_list(organization=organization).order_by(*ORDERING)[: limit + 1]
    with connection.cursor() as cursor:
        cursor.execute(*page.query.sql_with_params())
        rows = cursor.fetchall()
    next_cursor = _cursor(request, rows[limit - 1]) if len(rows) > limit else None
    body = {
        "data": [
            {
                "contact_id": public_id,
                "name": name,
                "email": email,
                "phone_number": phone_number,
                "created_at": format_datetime(created_at),
                "company_id": company_public_id,
                "custom_fields": json.loads(custom_fields),  # jsonb comes as text
                "company_role": company_role,
            }
            for (
                _id,
                _org,
                public_id,
                name,
                email,
                phone_number,
                _company,
                company_role,
                custom_fields,
                created_at,
                company_public_id,
            ) in rows[:limit]
        ],
        "pagination": {
            "limit": limit,
            "cursor": None,
            "next_cursor": next_cursor,
            "has_more": next_cursor is not None,
        },
    }
    # As DRF's JSONRenderer with UNICODE_JSON and COMPACT_JSON.
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return HttpResponse(text.encode(), content_type="application/json")


def _cursor(request: HttpRequest, last: tuple[Any, ...]) -> str:
    """The paginator's cursor (hyperrep/api/pagination.py): same scope, key and cipher."""
    key = [last[COLUMNS.index("created_at")], last[COLUMNS.index("id")]]
    return encode_cursor(key, collection_scope(request.path, request.GET))
