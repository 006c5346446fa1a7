"""Floors of the benchmarked lists: plain Django views, no DRF.

Each does its list's work through the same services and selectors (api_key_authenticate,
organization_get, contact_list, conversation_list, message_list), so it sends the API's SQL
string for string (the benchmarks check it), and writes the API's JSON bytes, cursor
included. It skips DRF's view machinery (request wrapping, authentication and permission
classes, filter backend, paginator class, serializer, renderer) and the ORM's model
instances: the page's rows come as tuples from the cursor. Only first pages: a yardstick, not
an endpoint.
"""

import json
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException

from apps.contacts.selectors import contact_list
from apps.conversations.models import Conversation, TrackedLink
from apps.conversations.selectors import conversation_list, message_list
from apps.keys.services import KeyRejected, api_key_authenticate
from apps.organizations.models import Organization
from apps.organizations.selectors import organization_get
from hyperrep.api.exceptions import error_response
from hyperrep.api.pagination import collection_scope, encode_cursor
from hyperrep.api.serializers import format_datetime

Row = dict[str, Any]


def contacts_floor(request: HttpRequest, organization_id: str) -> HttpResponse:
    def render(row: Row) -> Row:
        return {
            "contact_id": row["public_id"],
            "name": row["name"],
            "email": row["email"],
            "phone_number": row["phone_number"],
            "created_at": format_datetime(row["created_at"]),
            "company_id": row["company_public_id"],
            "custom_fields": json.loads(row["custom_fields"]),  # jsonb comes as text
            "company_role": row["company_role"],
        }

    return _list(request, organization_id, contact_list, ("-created_at", "-id"), render)


def conversations_floor(request: HttpRequest, organization_id: str) -> HttpResponse:
    def render(row: Row) -> Row:
        return {
            "conversation_id": row["public_id"],
            "start_at": format_datetime(row["start_at"]),
            "last_activity_at": format_datetime(row["last_activity_at"]),
            "folder": row["folder"],
            "is_read": row["is_read"],
            "contact_id": row["contact_public_id"],
            "agent_id": row["agent_public_id"],
        }

    return _list(request, organization_id, conversation_list, ("-start_at", "-id"), render)


def messages_floor(
    request: HttpRequest, organization_id: str, conversation_id: str
) -> HttpResponse:
    links: dict[int, list[Row]] = {}

    def narrow(organization: Organization, queryset: QuerySet) -> QuerySet:
        conversation = Conversation.objects.for_org(organization).by_public_id(
            conversation_id, "conversation_id"
        )
        return queryset.filter(conversation=conversation)

    def prefetch(organization: Organization, rows: list[Row]) -> None:
        # The query prefetch_related sends for the fetched messages.
        page = TrackedLink.objects.for_org(organization).order_by("id")
        for link in _rows(page.filter(message__in=[row["id"] for row in rows])):
            links.setdefault(link["message_id"], []).append(
                {
                    "link_id": link["public_id"],
                    "url": link["url"],
                    "click_count": link["click_count"],
                }
            )

    def render(row: Row) -> Row:
        form = row["form_request_body"]
        return {
            "message_id": row["public_id"],
            "conversation_id": row["conversation_public_id"],
            "agent_id": row["agent_public_id"],
            "modality": row["modality"],
            "message_direction": row["direction"],
            "is_form_request": row["modality"] == "form",
            "subject": row["subject"],
            "content": row["content"],
            "call_transcript": row["call_transcript"],
            "form_request_body": None if form is None else json.loads(form),
            "sent_at": format_datetime(row["sent_at"]),
            "drafted_at": row["drafted_at"] and format_datetime(row["drafted_at"]),
            "email_metadata": {
                "email_message_id": row["email_message_id"],
                "cc_emails": json.loads(row["cc_emails"]),
                "bcc_emails": json.loads(row["bcc_emails"]),
            },
            "call_metadata": {"duration": row["call_duration"]},
            "tracked_links": links.get(row["id"], []),
        }

    return _list(
        request, organization_id, message_list, ("sent_at", "id"), render, narrow, prefetch
    )


def _list(
    request: HttpRequest,
    organization_id: str,
    selector: Callable[..., QuerySet],
    ordering: tuple[str, ...],
    render: Callable[[Row], Row],
    narrow: Callable[[Organization, QuerySet], QuerySet] | None = None,
    prefetch: Callable[[Organization, list[Row]], None] | None = None,
) -> HttpResponse:
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
    queryset = selector(organization=organization)
    if narrow is not None:
        queryset = narrow(organization, queryset)
    rows = _rows(queryset.order_by(*ordering)[: limit + 1])
    if prefetch is not None:
        # As prefetch_related does: for every row fetched, the one past the page included.
        prefetch(organization, rows)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        key_values = [rows[-1][name.lstrip("-")] for name in ordering]
        next_cursor = encode_cursor(key_values, collection_scope(request.path, request.GET))
    body = {
        "data": [render(row) for row in rows],
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


def _rows(queryset: QuerySet) -> list[Row]:
    """The queryset's own SQL (prefetches aside), rows as column name -> raw value."""
    with connection.cursor() as cursor:
        cursor.execute(*queryset.query.sql_with_params())
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
