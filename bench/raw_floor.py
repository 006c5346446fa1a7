"""The raw floor: the benchmarked lists answered by a plain WSGI application on psycopg 3, with
no Django in the request path. It is the least a Python server can do for the API's answer:
the same SELECTs as the API, string for string (the benchmarks check it), on one persistent
connection per thread, and the API's JSON bytes, next_cursor included.

Per request, as the API: the key looked up by its prefix together with the organization of
the path, through the key's organizations (active only), in one join (without a match: the
key alone, then the organization after the key's checks); its HMAC-SHA256 digest compared in
constant time, active and expiry checked, last_used_at written at most once a minute; for
messages and response drafts, the conversation within the organization; then the page of
limit + 1 rows (and what the page's prefetch asks for every row fetched, the ids as one
array, hyperrep/rows.py: the tracked links of messages; the contacts, conversations and
status history of sales). Rows are tuples, rendered by position. The cursor is bound to the
API's path, so the API accepts it. What it leaves out: Django's middleware (request id, log
line, metrics, security headers), the rate-limit budget, and the connection health check
(Django's `SELECT 1` before a request's first query). Only first pages without filters: a
yardstick, not an endpoint.

gunicorn serves it in front of Django (`with_django`), so that the API, the Django floor
(bench/floor.py) and this one share one server, its workers and deploy/gunicorn.conf.py:

    gunicorn -c deploy/gunicorn.conf.py 'bench.raw_floor:with_django()'

Settings come from the environment, read once: DATABASE_URL (a postgres:// URL),
SECRET_KEY, API_KEY_SECRET (default SECRET_KEY) and DATABASE_STATEMENT_TIMEOUT (default 30),
as hyperrep/settings.py and hyperrep/wsgi.py read them; prepared statements as Django's
connection has them (DATABASE_PREPARED_STATEMENTS, read by the settings of the process).
"""

import base64
import hashlib
import hmac
import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import orjson
import psycopg
from cryptography.fernet import Fernet

RAW_PREFIX = "/bench/raw/organizations/"
API_PREFIX = "/api/v2/organizations/"
ROUTE = re.compile(
    r"(?P<organization_id>[^/]+)/(?:(?P<contacts>contacts)|(?P<conversations>conversations)"
    r"|(?P<sales>sales)|conversations/(?P<conversation_id>[^/]+)/"
    r"(?:(?P<messages>messages)|(?P<drafts>response-drafts)))/?"
)
# As apps/keys/services.py, hyperrep/ids.py and hyperrep/api/pagination.py.
KEY_FORMAT = re.compile(r"hrk_([A-Za-z0-9]{8})_([A-Za-z0-9]{32,128})")
LAST_USED_RESOLUTION = timedelta(minutes=1)
ID_SHAPE = re.compile(r"[A-Za-z0-9._=-]{1,255}")
MINTED_PREFIXES = frozenset(
    ("org", "agt", "cmp", "ctc", "cnv", "msg", "lnk", "sal", "mdr", "rdr", "whe", "evt", "whd")
)
LIMIT = re.compile(r"[1-9][0-9]{0,2}")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

_LINE_SEPARATOR, _PARAGRAPH_SEPARATOR = "\u2028".encode(), "\u2029".encode()

Row = tuple[Any, ...]
Json = dict[str, Any]
StartResponse = Callable[..., Any]

# The API's SQL (its placeholders filled by psycopg's client-side binding, as Django's cursor
# does), captured from the API under CaptureQueriesContext.
# A request naming an organization that can be valid looks its key up with it, in one join
# through the key's organizations (active only); without a match, by the key alone, and the
# organization after the key's checks (ORGANIZATION_SQL), as apps/keys/services.py does.
_KEY_SELECT = (
    '"keys_apikey"."prefix" AS "{0}prefix", "keys_apikey"."digest" AS "{0}digest", '
    '"keys_apikey"."name" AS "{0}name", "keys_apikey"."is_active" AS "{0}is_active", '
    '"keys_apikey"."read_only" AS "{0}read_only", "keys_apikey"."expires_at" AS "{0}expires_at", '
    '"keys_apikey"."last_used_at" AS "{0}last_used_at", '
    '"keys_apikey"."created_at" AS "{0}created_at"'
)
KEY_ORGANIZATION_SQL = (
    'SELECT "keys_apikey_organizations"."apikey_id" AS "apikey__id", '
    + _KEY_SELECT.format("apikey__")
    + ', "keys_apikey_organizations"."organization_id" AS "organization__id", '
    '"organizations_organization"."public_id" AS "organization__public_id", '
    '"organizations_organization"."name" AS "organization__name", '
    '"organizations_organization"."is_active" AS "organization__is_active", '
    '"organizations_organization"."created_at" AS "organization__created_at" '
    'FROM "keys_apikey_organizations" INNER JOIN "keys_apikey" ON '
    '("keys_apikey_organizations"."apikey_id" = "keys_apikey"."id") INNER JOIN '
    '"organizations_organization" ON ("keys_apikey_organizations"."organization_id" = '
    '"organizations_organization"."id") WHERE ("keys_apikey"."prefix" = %s AND '
    '"organizations_organization"."is_active" AND "organizations_organization"."public_id" = %s) '
    "LIMIT 1"
)
KEY_SQL = (
    'SELECT "keys_apikey"."id" AS "id", '
    + _KEY_SELECT.format("")
    + ' FROM "keys_apikey" WHERE "keys_apikey"."prefix" = %s LIMIT 1'
)
TOUCH_SQL = (
    'UPDATE "keys_apikey" SET "last_used_at" = %s WHERE (("keys_apikey"."last_used_at" IS NULL '
    'OR "keys_apikey"."last_used_at" <= %s) AND "keys_apikey"."id" = %s)'
)
ORGANIZATION_SQL = (
    'SELECT "organizations_organization"."id", "organizations_organization"."public_id", '
    '"organizations_organization"."name", "organizations_organization"."is_active", '
    '"organizations_organization"."created_at" FROM "organizations_organization" '
    'INNER JOIN "keys_apikey_organizations" ON ("organizations_organization"."id" = '
    '"keys_apikey_organizations"."organization_id") WHERE '
    '("keys_apikey_organizations"."apikey_id" = %s AND "organizations_organization"."is_active" '
    'AND "organizations_organization"."public_id" = %s) ORDER BY '
    '"organizations_organization"."name" ASC, "organizations_organization"."id" ASC LIMIT 1'
)
CONTACTS_SQL = (
    'SELECT "contacts_contact"."id", "contacts_contact"."organization_id", '
    '"contacts_contact"."public_id", "contacts_contact"."name", "contacts_contact"."email", '
    '"contacts_contact"."phone_number", "contacts_contact"."phone_e164", '
    '"contacts_contact"."company_id", "contacts_contact"."company_role", '
    '"contacts_contact"."custom_fields", "contacts_contact"."created_at", '
    '"companies_company"."public_id" AS "company_public_id" FROM "contacts_contact" '
    'LEFT OUTER JOIN "companies_company" ON ("contacts_contact"."company_id" = '
    '"companies_company"."id") WHERE "contacts_contact"."organization_id" = %s ORDER BY '
    '"contacts_contact"."created_at" DESC, "contacts_contact"."id" DESC LIMIT %s'
)
_CONVERSATION_COLUMNS = (
    '"conversations_conversation"."id", "conversations_conversation"."organization_id", '
    '"conversations_conversation"."public_id", "conversations_conversation"."contact_id", '
    '"conversations_conversation"."agent_id", "conversations_conversation"."folder", '
    '"conversations_conversation"."is_read", "conversations_conversation"."start_at", '
    '"conversations_conversation"."last_activity_at", '
    '"conversations_conversation"."first_inbound_at", '
    '"conversations_conversation"."first_inbound_modality", '
    '"conversations_conversation"."response_time_us", "conversations_conversation"."reply_token"'
)
CONVERSATIONS_SQL = (
    f"SELECT {_CONVERSATION_COLUMNS}, "
    '"contacts_contact"."public_id" AS "contact_public_id", '
    '"agents_agent"."public_id" AS "agent_public_id" FROM "conversations_conversation" '
    'INNER JOIN "contacts_contact" ON ("conversations_conversation"."contact_id" = '
    '"contacts_contact"."id") LEFT OUTER JOIN "agents_agent" ON '
    '("conversations_conversation"."agent_id" = "agents_agent"."id") WHERE '
    '"conversations_conversation"."organization_id" = %s ORDER BY '
    '"conversations_conversation"."start_at" DESC, "conversations_conversation"."id" DESC '
    "LIMIT %s"
)
CONVERSATION_SQL = (
    f'SELECT {_CONVERSATION_COLUMNS} FROM "conversations_conversation" WHERE '
    '("conversations_conversation"."organization_id" = %s AND '
    '"conversations_conversation"."public_id" = %s) ORDER BY '
    '"conversations_conversation"."id" ASC LIMIT 1'
)
MESSAGES_SQL = (
    'SELECT "conversations_message"."id", "conversations_message"."organization_id", '
    '"conversations_message"."public_id", "conversations_message"."conversation_id", '
    '"conversations_message"."agent_id", "conversations_message"."modality", '
    '"conversations_message"."direction", "conversations_message"."subject", '
    '"conversations_message"."content", "conversations_message"."call_transcript", '
    '"conversations_message"."call_duration", "conversations_message"."form_request_body", '
    '"conversations_message"."sent_at", "conversations_message"."drafted_at", '
    '"conversations_message"."email_message_id", "conversations_message"."cc_emails", '
    '"conversations_message"."bcc_emails", '
    '"conversations_conversation"."public_id" AS "conversation_public_id", '
    '"agents_agent"."public_id" AS "agent_public_id" FROM "conversations_message" '
    'INNER JOIN "conversations_conversation" ON ("conversations_message"."conversation_id" = '
    '"conversations_conversation"."id") LEFT OUTER JOIN "agents_agent" ON '
    '("conversations_message"."agent_id" = "agents_agent"."id") WHERE '
    '("conversations_message"."organization_id" = %s AND '
    '"conversations_message"."conversation_id" = %s) ORDER BY '
    '"conversations_message"."sent_at" ASC, "conversations_message"."id" ASC LIMIT %s'
)
SALES_SQL = (
    'SELECT "sales_sale"."id", "sales_sale"."organization_id", "sales_sale"."public_id", '
    '"sales_sale"."is_draft", "sales_sale"."company_id", "sales_sale"."owner_id", '
    '"sales_sale"."quote_details", "sales_sale"."custom_fields", "sales_sale"."created_at", '
    '"sales_sale"."last_activity_at", "companies_company"."public_id" AS "company_public_id", '
    '"agents_agent"."public_id" AS "owner_public_id" FROM "sales_sale" LEFT OUTER JOIN '
    '"companies_company" ON ("sales_sale"."company_id" = "companies_company"."id") '
    'LEFT OUTER JOIN "agents_agent" ON ("sales_sale"."owner_id" = "agents_agent"."id") WHERE '
    '("sales_sale"."organization_id" = %s AND NOT "sales_sale"."is_draft") ORDER BY '
    '"sales_sale"."created_at" DESC, "sales_sale"."id" DESC LIMIT %s'
)
# What the page's prefetch asks for the sales fetched (hyperrep/rows.py: the ids as one
# array), in apps/sales/selectors.py's order.
SALE_CONTACTS_SQL = (
    'SELECT "sales_salecontact"."id", "sales_salecontact"."organization_id", '
    '"sales_salecontact"."sale_id", "sales_salecontact"."contact_id", '
    '"sales_salecontact"."is_primary", (SELECT U0."public_id" AS "public_id" FROM '
    '"contacts_contact" U0 WHERE (U0."organization_id" = %s AND '
    'U0."id" = ("sales_salecontact"."contact_id"))) AS '
    '"contact_public_id" FROM "sales_salecontact" WHERE '
    '("sales_salecontact"."organization_id" = %s AND "sales_salecontact"."sale_id" = ANY(%s)) '
    'ORDER BY "sales_salecontact"."id" ASC'
)
SALE_CONVERSATIONS_SQL = (
    'SELECT "sales_saleconversation"."id", "sales_saleconversation"."organization_id", '
    '"sales_saleconversation"."sale_id", "sales_saleconversation"."conversation_id", '
    '(SELECT U0."public_id" AS "public_id" FROM "conversations_conversation" U0 WHERE '
    '(U0."organization_id" = %s AND U0."id" = ("sales_saleconversation"."conversation_id"))) '
    'AS "conversation_public_id" '
    'FROM "sales_saleconversation" WHERE ("sales_saleconversation"."organization_id" = %s AND '
    '"sales_saleconversation"."sale_id" = ANY(%s)) ORDER BY "sales_saleconversation"."id" ASC'
)
SALE_HISTORY_SQL = (
    'SELECT "sales_salestatuschange"."id", "sales_salestatuschange"."organization_id", '
    '"sales_salestatuschange"."sale_id", "sales_salestatuschange"."label", '
    '"sales_salestatuschange"."status", "sales_salestatuschange"."changed_at" '
    'FROM "sales_salestatuschange" WHERE ("sales_salestatuschange"."organization_id" = %s AND '
    '"sales_salestatuschange"."sale_id" = ANY(%s)) ORDER BY '
    '"sales_salestatuschange"."changed_at" ASC, "sales_salestatuschange"."id" ASC'
)
RESPONSE_DRAFTS_SQL = (
    'SELECT "drafts_responsedraft"."id", "drafts_responsedraft"."organization_id", '
    '"drafts_responsedraft"."next_attempt_at", "drafts_responsedraft"."attempts", '
    '"drafts_responsedraft"."last_error", "drafts_responsedraft"."claimed_until", '
    '"drafts_responsedraft"."claimed_by", "drafts_responsedraft"."request_id", '
    '"drafts_responsedraft"."modality", "drafts_responsedraft"."body_html", '
    '"drafts_responsedraft"."cc_emails", "drafts_responsedraft"."bcc_emails", '
    '"drafts_responsedraft"."add_notification", "drafts_responsedraft"."scheduled_to_send", '
    '"drafts_responsedraft"."status", "drafts_responsedraft"."scheduled_send_at", '
    '"drafts_responsedraft"."sent_at", "drafts_responsedraft"."created_at", '
    '"drafts_responsedraft"."updated_at", "drafts_responsedraft"."message_public_id", '
    '"drafts_responsedraft"."provider_message_id", "drafts_responsedraft"."delivery_status", '
    '"drafts_responsedraft"."public_id", "drafts_responsedraft"."conversation_id", '
    '"conversations_conversation"."public_id" AS "conversation_public_id" '
    'FROM "drafts_responsedraft" INNER JOIN "conversations_conversation" ON '
    '("drafts_responsedraft"."conversation_id" = "conversations_conversation"."id") WHERE '
    '("drafts_responsedraft"."organization_id" = %s AND '
    '"drafts_responsedraft"."conversation_id" = %s) ORDER BY '
    '"drafts_responsedraft"."created_at" DESC, "drafts_responsedraft"."id" DESC LIMIT %s'
)
LINKS_SQL = (
    'SELECT "conversations_trackedlink"."id", "conversations_trackedlink"."organization_id", '
    '"conversations_trackedlink"."public_id", "conversations_trackedlink"."message_id", '
    '"conversations_trackedlink"."url", "conversations_trackedlink"."click_count" '
    'FROM "conversations_trackedlink" WHERE ("conversations_trackedlink"."organization_id" = %s '
    'AND "conversations_trackedlink"."message_id" = ANY(%s)) ORDER BY '
    '"conversations_trackedlink"."id" ASC'
)


class Refused(Exception):
    """An error answer: its status and the API's `detail`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class RawFloor:
    """The WSGI application of the raw floor, for paths under RAW_PREFIX."""

    def __init__(
        self,
        database_url: str,
        *,
        secret_key: str,
        api_key_secret: str,
        statement_timeout: int = 30,
        prepare_threshold: int | None = None,
    ) -> None:
        self.database_url = database_url
        self.api_key_secret = api_key_secret.encode()
        # hyperrep/crypto.py's key for the purpose "pagination.cursor".
        digest = hashlib.sha256(b"hyperrep.pagination.cursor:" + secret_key.encode()).digest()
        self.cursors = Fernet(base64.urlsafe_b64encode(digest))
        # Django's connection: UTC, autocommit, the web process's statement timeout, and
        # client-side binding with no prepared statements, or, given a threshold, server-side
        # binding and statements prepared on their run after it.
        self.options = f"-c TimeZone=UTC -c statement_timeout={statement_timeout}s"
        if not statement_timeout:
            self.options = "-c TimeZone=UTC"
        self.prepare_threshold = prepare_threshold
        self.cursor_factory: type[psycopg.Cursor] = (
            psycopg.ClientCursor if prepare_threshold is None else psycopg.Cursor
        )
        self.local = threading.local()

    @classmethod
    def from_environment(cls) -> "RawFloor":
        secret_key = os.environ.get("SECRET_KEY") or ""
        if not secret_key:
            raise RuntimeError("SECRET_KEY is not set")
        return cls(
            os.environ["DATABASE_URL"],
            secret_key=secret_key,
            api_key_secret=os.environ.get("API_KEY_SECRET") or secret_key,
            statement_timeout=int(os.environ.get("DATABASE_STATEMENT_TIMEOUT") or 30),
            prepare_threshold=_django_prepare_threshold(),
        )

    def connection(self) -> psycopg.Connection:
        """This thread's connection, opened on its first request (or after one broke)."""
        connection: psycopg.Connection | None = getattr(self.local, "connection", None)
        if connection is None or connection.closed or connection.broken:
            connection = psycopg.connect(
                self.database_url,
                autocommit=True,
                prepare_threshold=self.prepare_threshold,
                cursor_factory=self.cursor_factory,
                options=self.options,
            )
            self.local.connection = connection
        return connection

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            status, body = 200, self.answer(environ)
        except Refused as refused:
            status, body = refused.status, _error(refused.detail)
        except psycopg.OperationalError:
            status, body = 503, _error("Service unavailable")
        start_response(
            f"{status} {_REASONS[status]}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    def answer(self, environ: dict[str, Any]) -> bytes:
        route = ROUTE.fullmatch(environ.get("PATH_INFO", "")[len(RAW_PREFIX) :])
        if route is None:
            raise Refused(404, "Not found")
        if environ.get("REQUEST_METHOD") != "GET":
            raise Refused(405, f'Method "{environ.get("REQUEST_METHOD")}" not allowed.')
        organization_id = route["organization_id"]
        with self.connection().cursor() as cursor:
            key_id, organization = self.authenticate(
                cursor, environ.get("HTTP_X_API_KEY", "").strip(), organization_id
            )
            if organization is None:
                _check_id(organization_id, "org", "organization_id")
                cursor.execute(ORGANIZATION_SQL, (key_id, organization_id))
                organization = cursor.fetchone()
                if organization is None:
                    raise Refused(404, "Organization not found")
            limit = _first_page_limit(environ.get("QUERY_STRING", ""))
            if route["contacts"]:
                cursor.execute(CONTACTS_SQL, (organization[0], limit + 1))
                rows = cursor.fetchall()
                data, key = [_contact(row) for row in rows[:limit]], (10, 0)
                path = f"{organization_id}/contacts"
            elif route["conversations"]:
                cursor.execute(CONVERSATIONS_SQL, (organization[0], limit + 1))
                rows = cursor.fetchall()
                data, key = [_conversation(row) for row in rows[:limit]], (7, 0)
                path = f"{organization_id}/conversations"
            elif route["sales"]:
                cursor.execute(SALES_SQL, (organization[0], limit + 1))
                rows = cursor.fetchall()
                related = _sale_related(cursor, organization[0], [row[0] for row in rows])
                data, key = [_sale(row, *related) for row in rows[:limit]], (8, 0)
                path = f"{organization_id}/sales"
            else:
                conversation_id = _check_id(route["conversation_id"], "cnv", "conversation_id")
                cursor.execute(CONVERSATION_SQL, (organization[0], conversation_id))
                conversation = cursor.fetchone()
                if conversation is None:
                    raise Refused(404, "Conversation not found")
                path = f"{organization_id}/conversations/{conversation_id}"
                page = (organization[0], conversation[0], limit + 1)
                if route["messages"]:
                    cursor.execute(MESSAGES_SQL, page)
                    rows = cursor.fetchall()
                    links = _links(cursor, organization[0], [row[0] for row in rows])
                    data, key = [_message(row, links) for row in rows[:limit]], (12, 0)
                    path += "/messages"
                else:
                    cursor.execute(RESPONSE_DRAFTS_SQL, page)
                    rows = cursor.fetchall()
                    data, key = [_response_draft(row) for row in rows[:limit]], (17, 0)
                    path += "/response-drafts"
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = self.cursor_after([last[column] for column in key], API_PREFIX + path)
        # As the API's renderer (hyperrep/api/renderers.py): orjson, with U+2028 and U+2029
        # escaped, DRF's JSONRenderer's bytes (the lists hold no floats).
        body = orjson.dumps(
            {
                "data": data,
                "pagination": {
                    "limit": limit,
                    "cursor": None,
                    "next_cursor": next_cursor,
                    "has_more": next_cursor is not None,
                },
            }
        )
        return body.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")

    def authenticate(
        self, cursor: psycopg.Cursor, plaintext: str, organization_id: str
    ) -> tuple[int, Row | None]:
        """The id of the key the request presents, as api_key_authenticate checks it, and the
        organization's row when it came with the key (else None: the caller looks it up)."""
        if not plaintext:
            raise Refused(403, "Missing API Key")
        match = KEY_FORMAT.fullmatch(plaintext)
        if match is None:
            raise Refused(403, "Invalid API Key")
        key, organization = None, None
        if _can_be_valid(organization_id, "org"):
            cursor.execute(KEY_ORGANIZATION_SQL, (match.group(1), organization_id))
            link = cursor.fetchone()
            if link is not None:  # the key's columns as KEY_SQL's, then the organization's
                key, organization = link[:9], link[9:]
        if key is None:
            cursor.execute(KEY_SQL, (match.group(1),))
            key = cursor.fetchone()
        digest = hmac.new(self.api_key_secret, plaintext.encode(), hashlib.sha256).hexdigest()
        if key is None or not hmac.compare_digest(key[2], digest):
            raise Refused(403, "Invalid API Key")
        key_id, is_active, expires_at, last_used_at = key[0], key[4], key[6], key[7]
        now = datetime.now(UTC)
        if not is_active:
            raise Refused(403, "API Key is inactive")
        if expires_at is not None and expires_at <= now:
            raise Refused(403, "API Key has expired")
        if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
            cursor.execute(TOUCH_SQL, (now, now - LAST_USED_RESOLUTION, key_id))
        return int(key_id), organization

    def cursor_after(self, key: list[Any], path: str) -> str:
        """hyperrep/api/pagination.py's cursor for the API's collection at `path` (no filters)."""
        scope = hashlib.sha256(json.dumps([path, []]).encode()).hexdigest()[:32]
        payload = json.dumps(
            {"s": scope, "k": [v.isoformat() if hasattr(v, "isoformat") else v for v in key]},
            separators=(",", ":"),
        )
        return self.cursors.encrypt(payload.encode()).decode()


def _contact(row: Row) -> Json:
    return {
        "contact_id": row[2],
        "name": row[3],
        "email": row[4],
        "phone_number": row[5],
        "created_at": _time(row[10]),
        "company_id": row[11],
        "custom_fields": row[9],
        "company_role": row[8],
    }


def _conversation(row: Row) -> Json:
    return {
        "conversation_id": row[2],
        "start_at": _time(row[7]),
        "last_activity_at": _time(row[8]),
        "folder": row[5],
        "is_read": row[6],
        "contact_id": row[13],
        "agent_id": row[14],
    }


def _links(cursor: psycopg.Cursor, organization: int, messages: list[int]) -> dict[int, list[Json]]:
    """The tracked links of the messages, by message, as the page's prefetch fetches them (every
    row fetched, the one past the page included; no query for no rows)."""
    links: dict[int, list[Json]] = {}
    if not messages:
        return links
    cursor.execute(LINKS_SQL, (organization, messages))
    for link in cursor.fetchall():
        links.setdefault(link[3], []).append(
            {"link_id": link[2], "url": link[4], "click_count": link[5]}
        )
    return links


def _message(row: Row, links: dict[int, list[Json]]) -> Json:
    return {
        "message_id": row[2],
        "conversation_id": row[17],
        "agent_id": row[18],
        "modality": row[5],
        "message_direction": row[6],
        "is_form_request": row[5] == "form",
        "subject": row[7],
        "content": row[8],
        "call_transcript": row[9],
        "form_request_body": row[11],
        "sent_at": _time(row[12]),
        "drafted_at": row[13] and _time(row[13]),
        "email_metadata": {
            "email_message_id": row[14],
            "cc_emails": row[15],
            "bcc_emails": row[16],
        },
        "call_metadata": {"duration": row[10]},
        "tracked_links": links.get(row[0], []),
    }


def _sale_related(
    cursor: psycopg.Cursor, organization: int, sales: list[int]
) -> tuple[dict[int, list[Row]], ...]:
    """The contacts, conversations and status history of the sales, by sale, as the page's
    prefetch fetches them (every row fetched, the one past the page included; no
    queries for no rows)."""
    related: tuple[dict[int, list[Row]], ...] = ({}, {}, {})
    if not sales:
        return related
    for sql, by_sale in zip(
        (SALE_CONTACTS_SQL, SALE_CONVERSATIONS_SQL, SALE_HISTORY_SQL), related, strict=True
    ):
        # The links' public ids are read within the organization too (a subquery's own %s).
        cursor.execute(sql, (organization,) * (sql.count("%s") - 1) + (sales,))
        for item in cursor.fetchall():
            by_sale.setdefault(item[2], []).append(item)
    return related


def _sale(
    row: Row,
    contacts: dict[int, list[Row]],
    conversations: dict[int, list[Row]],
    history: dict[int, list[Row]],
) -> Json:
    changes = [
        {"label": change[3], "status": change[4], "changed_at": _time(change[5])}
        for change in history.get(row[0], [])
    ]
    return {
        "sale_id": row[2],
        "associated_conversation_ids": [link[4] for link in conversations.get(row[0], [])],
        "company_id": row[10],
        "owner_id": row[11],
        "associated_contacts": [
            {"contact_id": link[5], "is_primary": link[4]} for link in contacts.get(row[0], [])
        ],
        "quote_details": row[6],
        "custom_fields": row[7],
        "current_status": changes[-1] if changes else None,
        "status_history": changes,
        "created_at": _time(row[8]),
        "last_activity_at": _time(row[9]),
    }


def _response_draft(row: Row) -> Json:
    return {
        "response_id": row[22],
        "conversation_id": row[24],
        "modality": row[8],
        "body_html": row[9],
        "cc_emails": row[10],
        "bcc_emails": row[11],
        "status": row[14],
        "scheduled_to_send": row[13],
        "scheduled_send_at": row[15] and _time(row[15]),
        "sent_at": row[16] and _time(row[16]),
        "created_at": _time(row[17]),
        "updated_at": _time(row[18]),
        "attempts": row[3],
        "failure_reason": row[4] if row[14] == "failed" else None,
    }


def _time(value: datetime) -> str:
    """hyperrep/api/serializers.py's format_datetime: RFC 3339 in UTC with a Z."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _can_be_valid(value: str, prefix: str) -> bool:
    """hyperrep/ids.py's can_be_valid: False for an id no row of the type can have."""
    head, underscore, _ = value.partition("_")
    return bool(ID_SHAPE.fullmatch(value)) and not (
        underscore and head in MINTED_PREFIXES and head != prefix
    )


def _check_id(value: str, prefix: str, name: str) -> str:
    """hyperrep/ids.py's check: `400 Invalid <name>` for an id no row of the type can have."""
    if not _can_be_valid(value, prefix):
        raise Refused(400, f"Invalid {name}")
    return value


def _first_page_limit(query_string: str) -> int:
    """The page size of hyperrep/api/pagination.py's parse_limit; a cursor or a filter is
    refused: this floor serves first pages only."""
    limit = DEFAULT_LIMIT
    for name, value in parse_qsl(query_string, keep_blank_values=True):
        if name == "limit":
            if value and not (LIMIT.fullmatch(value) and int(value) <= MAX_LIMIT):
                raise Refused(422, f"limit: Must be an integer from 1 to {MAX_LIMIT}.")
            limit = int(value) if value else DEFAULT_LIMIT
        elif value:
            raise Refused(400, f"{name}: the raw floor serves first pages without filters")
    return limit


def _error(detail: str) -> bytes:
    return json.dumps({"detail": detail}, separators=(",", ":")).encode()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    422: "Unprocessable Content",
    503: "Service Unavailable",
}


def _django_prepare_threshold() -> int | None:
    """The threshold of Django's connection when it binds on the server, else None."""
    from django.conf import settings

    options = settings.DATABASES["default"].get("OPTIONS", {})
    return options.get("prepare_threshold") if options.get("server_side_binding") else None


def with_django() -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """gunicorn's application: the raw floor under RAW_PREFIX, Django (hyperrep.wsgi: the API,
    and the Django floor when DJANGO_SETTINGS_MODULE is bench.settings) for every other path.
    Django's requests pay one string prefix test for it."""
    from hyperrep.wsgi import application as django_application

    raw = RawFloor.from_environment()

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(RAW_PREFIX):
            return raw(environ, start_response)
        return django_application(environ, start_response)

    return dispatch
