"""Floors of the benchmarked lists: plain Django views, no DRF.

Each does its list's work through the same services and selectors (api_key_authenticate,
organization_get, contact_list, conversation_list, message_list, sale_list,
response_draft_list, and the selectors' prefetch querysets), so it sends the API's SQL
string for string (the benchmarks check it), and writes the API's JSON bytes, cursor
included. It skips DRF's view machinery (request wrapping, authentication and permission
classes, filter backend, paginator class, serializer, renderer) and the ORM's model
instances: the page's rows come as tuples from the cursor. Only first pages: a yardstick, not
an endpoint.
"""

import json
from collections.abc import Callable
from typing import Any

import orjson
from django.db import connection
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from rest_framework.exceptions import APIException

from apps.contacts.selectors import contact_list
from apps.conversations.models import Conversation, TrackedLink
from apps.conversations.selectors import conversation_list, message_list
from apps.drafts.models import DraftStatus
from apps.drafts.selectors import response_draft_list
from apps.keys.services import KeyRejected, api_key_authenticate
from apps.organizations.models import Organization
from apps.organizations.selectors import organization_get
from apps.sales.models import Sale
from apps.sales.selectors import sale_list
from hyperrep.api.exceptions import error_response
from hyperrep.api.pagination import collection_scope, encode_cursor
from hyperrep.api.serializers import format_datetime
from hyperrep.rows import AnyOf

Row = dict[str, Any]
_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()


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

    def prefetch(organization: Organization, rows: list[Row]) -> None:
        # The query the page's prefetch sends for the fetched messages (hyperrep/rows.py).
        page = TrackedLink.objects.for_org(organization).order_by("id")
        for link in _rows(page.filter(AnyOf("message_id", [row["id"] for row in rows]))):
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

    narrow = _in_conversation(conversation_id)
    return _list(
        request, organization_id, message_list, ("sent_at", "id"), render, narrow, prefetch
    )


def sales_floor(request: HttpRequest, organization_id: str) -> HttpResponse:
    lookups: list[Prefetch] = []
    related: dict[str, dict[int, list[Row]]] = {}

    def selector(*, organization: Organization) -> QuerySet:
        queryset = sale_list(organization=organization)
        lookups.extend(queryset._prefetch_related_lookups)  # type: ignore[attr-defined]
        return queryset

    def prefetch(organization: Organization, rows: list[Row]) -> None:
        # The queries the page's prefetch sends for the fetched sales (hyperrep/rows.py), in
        # the selector's order: each Prefetch's queryset narrowed to them by the reverse
        # foreign key, the ids as one array.
        if not rows:
            return
        sales = [row["id"] for row in rows]
        for lookup in lookups:
            link = Sale._meta.get_field(lookup.prefetch_through).field.attname  # type: ignore[union-attr]
            assert lookup.queryset is not None
            assert lookup.to_attr is not None
            by_sale = related.setdefault(lookup.to_attr, {})
            for item in _rows(lookup.queryset.filter(AnyOf(link, sales))):
                by_sale.setdefault(item[link], []).append(item)

    def render(row: Row) -> Row:
        history = [
            {
                "label": change["label"],
                "status": change["status"],
                "changed_at": format_datetime(change["changed_at"]),
            }
            for change in related["status_history"].get(row["id"], [])
        ]
        return {
            "sale_id": row["public_id"],
            "associated_conversation_ids": [
                link["conversation_public_id"]
                for link in related["conversation_links"].get(row["id"], [])
            ],
            "company_id": row["company_public_id"],
            "owner_id": row["owner_public_id"],
            "associated_contacts": [
                {"contact_id": link["contact_public_id"], "is_primary": link["is_primary"]}
                for link in related["contact_links"].get(row["id"], [])
            ],
            "quote_details": json.loads(row["quote_details"]),  # jsonb comes as text
            "custom_fields": json.loads(row["custom_fields"]),
            "current_status": history[-1] if history else None,
            "status_history": history,
            "created_at": format_datetime(row["created_at"]),
            "last_activity_at": format_datetime(row["last_activity_at"]),
        }

    return _list(request, organization_id, selector, ("-created_at", "-id"), render, None, prefetch)


def response_drafts_floor(
    request: HttpRequest, organization_id: str, conversation_id: str
) -> HttpResponse:
    def render(row: Row) -> Row:
        scheduled_send_at, sent_at = row["scheduled_send_at"], row["sent_at"]
        return {
            "response_id": row["public_id"],
            "conversation_id": row["conversation_public_id"],
            "modality": row["modality"],
            "body_html": row["body_html"],
            "cc_emails": json.loads(row["cc_emails"]),
            "bcc_emails": json.loads(row["bcc_emails"]),
            "status": row["status"],
            "scheduled_to_send": row["scheduled_to_send"],
            "scheduled_send_at": scheduled_send_at and format_datetime(scheduled_send_at),
            "sent_at": sent_at and format_datetime(sent_at),
            "created_at": format_datetime(row["created_at"]),
            "updated_at": format_datetime(row["updated_at"]),
            "attempts": row["attempts"],
            "failure_reason": row["last_error"] if row["status"] == DraftStatus.FAILED else None,
        }

    narrow = _in_conversation(conversation_id)
    return _list(
        request, organization_id, response_draft_list, ("-created_at", "-id"), render, narrow
    )


def _in_conversation(conversation_id: str) -> Callable[[Organization, QuerySet], QuerySet]:
    """A nested list's parent, as OrganizationScopedViewSet resolves it: the conversation
    within the organization, then the rows narrowed to it."""

    def narrow(organization: Organization, queryset: QuerySet) -> QuerySet:
        conversation = Conversation.objects.for_org(organization).by_public_id(
            conversation_id, "conversation_id"
        )
        return queryset.filter(conversation=conversation)

    return narrow


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
        key, fetched = api_key_authenticate(plaintext, organization_id=organization_id)
    except KeyRejected as rejected:
        return error_response(403, str(rejected))
    try:
        organization = fetched or organization_get(api_key=key, organization_id=organization_id)
    except APIException as failure:  # 400 Invalid organization_id, 404 Organization not found
        return error_response(failure.status_code, str(failure.detail))
    limit = int(request.GET.get("limit", "50"))
    queryset = selector(organization=organization)
    if narrow is not None:
        queryset = narrow(organization, queryset)
    rows = _rows(queryset.order_by(*ordering)[: limit + 1])
    if prefetch is not None:
        # As the page's prefetch does: for every row fetched, the one past the page included.
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
    # As the API's renderer (hyperrep/api/renderers.py): orjson, with U+2028 and U+2029
    # escaped, DRF's JSONRenderer's bytes (the lists hold no floats).
    text = orjson.dumps(body)
    text = text.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return HttpResponse(text, content_type="application/json")


def _rows(queryset: QuerySet) -> list[Row]:
    """The queryset's own SQL (prefetches aside), rows as column name -> raw value."""
    with connection.cursor() as cursor:
        cursor.execute(*queryset.query.sql_with_params())
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
