"""Every answer of the API, byte for byte, as the code at 28456e5 rendered it.

A fixed dataset (fixed public ids, fixed timestamps, a frozen clock and a counter for the
ids the server mints) is built through the project's factories and services in one
organization that the key reaches, plus organizations it cannot reach. Then every GET route
under /api/v2 is requested (lists, their pages by `next_cursor`, filters, retrieves, nested
lists), with the error answers and a representative write of each writable resource, and
each answer's status, Content-Type and raw body bytes are compared with the golden data in
tests/api/golden/<database vendor>.json (PostgreSQL's jsonb and SQLite's JSON text give
some values back differently, so each vendor has its own file).

The only part of an answer that is rewritten before the comparison is a cursor: a Fernet
token, whose IV is random and which carries the time it was made, is replaced by its
decrypted payload, and the internal id that payload ends with (a database sequence value,
which differs from run to run on PostgreSQL) by the public id of that row.

`UPDATE_GOLDEN=1 pytest tests/api/test_output_identity.py` writes the golden file of the
database in use; without it a missing golden file is a failure, never a silent write.
"""

import base64
import json
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import InvalidToken
from django.db import connection
from django.db.models import Model
from django.utils import timezone as django_timezone
from rest_framework.test import APIClient

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Direction, Message, Modality
from apps.drafts.models import DraftModality, DraftStatus, ResponseDraft
from apps.keys.services import api_key_create, api_key_revoke
from apps.organizations.models import ChannelKind
from apps.sales.models import Sale, SaleStatus, SaleStatusChange
from apps.webhooks.models import Delivery, DeliveryStatus, Endpoint
from hyperrep import ids
from hyperrep.crypto import fernet
from tests.factories import (
    AgentFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    OrganizationFactory,
    ResponseDraftFactory,
    SaleContactFactory,
    SaleConversationFactory,
    SaleFactory,
    TrackedLinkFactory,
)

pytestmark = pytest.mark.django_db

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# The server's clock for the whole test: every "now" (a POST's created_at, a draft's
# scheduled_send_at, the analytics' "not in the future" check) is this instant.
NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(day: int, hour: int = 9, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    """An instant of January 2025 (day 32 is 1 February, and so on)."""
    return datetime(2025, 1, 1, tzinfo=UTC) + timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second, microseconds=micro
    )


# -- determinism ----------------------------------------------------------------------------


class _FrozenMeta(type):
    def __instancecheck__(cls, value: object) -> bool:
        return isinstance(value, datetime)


class _FrozenDatetime(datetime, metaclass=_FrozenMeta):
    """django.utils.timezone's `datetime`, whose now() is NOW: timezone.now() (which every
    model default and service calls) answers NOW, however it was imported."""

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return NOW.astimezone(tz) if tz is not None else NOW.replace(tzinfo=None)


@pytest.fixture
def deterministic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(django_timezone, "datetime", _FrozenDatetime)
    assert django_timezone.now() == NOW

    # The ids the server mints (a POST's new rows, events, a draft's message id): one counter
    # per type, so one more or one fewer id of one type never renumbers the others.
    counters: dict[str, int] = {}

    def mint(prefix: str) -> str:
        counters[prefix] = counters.get(prefix, 0) + 1
        return f"{prefix}_minted{counters[prefix]:016d}"

    monkeypatch.setattr(ids, "mint", mint)

    # Webhook signing secrets (24 random bytes): counted too.
    secrets_made = [0]

    def mint_secret() -> str:
        secrets_made[0] += 1
        return "whsec_" + base64.b64encode(bytes([secrets_made[0]]) * 24).decode()

    monkeypatch.setattr("apps.webhooks.services.mint_secret", mint_secret)

    # hooks.example.com resolves to a public address (there is no DNS here).
    import socket

    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# -- the dataset ----------------------------------------------------------------------------

# Awkward values for a JSON column: custom fields are a flat object of strings, numbers,
# booleans and null (hyperrep/custom_fields.py), so the nesting goes in the columns that nest
# (a sale's quote_details, a form's form_request_body). No NUL: PostgreSQL refuses it in text
# and in jsonb.
AWKWARD: dict[str, Any] = {
    "unicode": "Zoë Ångström — 日本語 🏠 Ω",
    "line_separators": "a\u2028b\u2029c",
    "controls": "\x01\x08\x0b\x0c\x1b\x1f\x7f\x85\t\r\n end",
    "quotes": '"quoted" \\ back / slash </script> &amp; \'',
    "empty": "",
    "null": None,
    "yes": True,
    "no": False,
    "zero": 0,
    "float_0.1": 0.1,
    "float_1e-05": 1e-05,
    "float_1.5e-07": 1.5e-07,
    "float_1e16": 1e16,
    "float_12345678.9": 12345678.9,
    "float_-0.0": -0.0,
    "float_2.5": 2.5,
    "float_1e300": 1e300,
    "int_2**53+1": 2**53 + 1,
    "int_2**63-1": 2**63 - 1,
    "int_2**64+1": 2**64 + 1,
    "int_-2**70": -(2**70),
    "k": "short key",
    "a_key_of_sixty_four_characters_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": "long key",
    "Ключ": "cyrillic key",
}
NESTED: dict[str, Any] = {
    "list": [1, 2.5, None, True, "x\u2028y", [], {}, [0.1, {"deep": {"deeper": [1e-05]}}]],
    "object": {"b": 1, "a": 2, "aa": {"é": "accent", "e": "plain"}, "": "empty key"},
    "big": 2**64 + 1,
    "float": 12345678.9,
    "neg_zero": -0.0,
    "text": "line\u2029para\x1f",
}


FACTORIES = (
    AgentFactory,
    ChannelFactory,
    CompanyFactory,
    ContactFactory,
    ConversationFactory,
    MessageFactory,
    OrganizationFactory,
    ResponseDraftFactory,
    SaleContactFactory,
    SaleConversationFactory,
    SaleFactory,
    TrackedLinkFactory,
)


def build() -> dict[str, Any]:
    # The factories' sequences ("Agent 0004", "contact7@example.com") count across the
    # session: from zero here, whichever tests ran before.
    for factory_class in FACTORIES:
        factory_class.reset_sequence(0, force=True)
    acme = OrganizationFactory.create(public_id="org_GoldenAcme", name="Acme Roofing")
    beta = OrganizationFactory.create(public_id="org_GoldenBeta", name="Beta Gutters")
    zenith = OrganizationFactory.create(public_id="org_GoldenZenith", name="Zenith Plumbing")
    dormant = OrganizationFactory.create(
        public_id="org_GoldenDormant", name="Dormant Co", is_active=False
    )
    for kind in (ChannelKind.EMAIL, ChannelKind.TEXT):
        ChannelFactory.create(organization=acme, kind=kind)

    alice = AgentFactory.create(
        organization=acme, public_id="agt_alice", name="Alice Ångström", email="alice@acme.test"
    )
    bob = AgentFactory.create(
        organization=acme, public_id="agt_bob", name="Bob Builder", email=None
    )
    AgentFactory.create(
        organization=acme, public_id="agt_carol", name="Carol \u2028 Line", email="c@acme.test"
    )
    AgentFactory.create(organization=acme, public_id="agt_dave", name="Dave", email="d@acme.test")
    AgentFactory.create(
        organization=acme, public_id="agt_imported.id=1", name="Eve Imported", email="e@acme.test"
    )
    zed = AgentFactory.create(organization=zenith, public_id="agt_zenith", name="Zed")

    big = CompanyFactory.create(
        organization=acme,
        public_id="cmp_big",
        name="Big Roofs Ltd",
        domain="bigroofs.example",
        address="1 Main Street\nSuite 2",
        custom_fields=AWKWARD,
        agent=alice,
        created_at=at(2, 10, 0, 0, 123456),
    )
    bare = CompanyFactory.create(
        organization=acme,
        public_id="cmp_bare",
        name="Bare \U0001f600",
        domain=None,
        address=None,
        custom_fields={},
        agent=None,
        created_at=at(3),
    )
    CompanyFactory.create(
        organization=acme,
        public_id="cmp_tie",
        name="Same Time Co",
        custom_fields={"tier": "gold"},
        agent=bob,
        created_at=at(3),
    )
    zcompany = CompanyFactory.create(
        organization=zenith, public_id="cmp_zenith", agent=zed, created_at=at(3)
    )

    c1 = ContactFactory.create(
        organization=acme,
        public_id="ctc_awkward",
        name="Zoë \u2028 O'Brien",
        email="Zoe.OBrien@Example.COM",
        phone_number="(513) 555-0100",
        company=big,
        company_role="Owner",
        custom_fields=AWKWARD,
        created_at=at(5, 8, 30, 0, 1),
    )
    c2 = ContactFactory.create(
        organization=acme,
        public_id="ctc_phone_only",
        name=None,
        email=None,
        phone_number="+1 513 555 0101",
        company=None,
        company_role=None,
        custom_fields={},
        created_at=at(6),
    )
    c3 = ContactFactory.create(
        organization=acme,
        public_id="ctc_email_only",
        name="",
        email="plain@example.com",
        phone_number=None,
        company=bare,
        company_role="",
        custom_fields={"score": 0.1, "vip": True, "notes": ""},
        created_at=at(7),
    )
    for n in range(4):  # a run of equal timestamps: pages split inside it
        ContactFactory.create(
            organization=acme,
            public_id=f"ctc_same_{n}",
            name=f"Same Time {n}",
            email=f"same{n}@example.com",
            phone_number=f"+1513555020{n}",
            company=bare,
            custom_fields={"n": n},
            created_at=at(8),
        )
    zcontact = ContactFactory.create(
        organization=zenith,
        public_id="ctc_zenith",
        company=zcompany,
        email="zoe.obrien@example.com",
        created_at=at(5),
    )

    cv1 = ConversationFactory.create(
        organization=acme,
        public_id="cnv_every_modality",
        contact=c1,
        agent=alice,
        folder="inbox",
        is_read=False,
        start_at=at(10, 9),
    )
    cv2 = ConversationFactory.create(
        organization=acme,
        public_id="cnv_text",
        contact=c2,
        agent=None,
        folder="sales-follow-up",
        is_read=True,
        start_at=at(12, 14, 30, 15, 500000),
    )
    cv3 = ConversationFactory.create(
        organization=acme,
        public_id="cnv_bob",
        contact=c1,
        agent=bob,
        folder="archive",
        is_read=True,
        start_at=at(12, 14, 30, 15, 500000),
    )
    ConversationFactory.create(
        organization=acme,
        public_id="cnv_empty",
        contact=c3,
        agent=alice,
        start_at=at(20),
    )
    zconversation = ConversationFactory.create(
        organization=zenith, public_id="cnv_zenith", contact=zcontact, agent=zed, start_at=at(10)
    )

    MessageFactory.create(
        conversation=cv1,
        public_id="msg_email_in",
        modality=Modality.EMAIL,
        direction=Direction.RECEIVED,
        agent=None,
        subject="Quote request — Zoë 🏠",
        content="Hello\r\nCan you quote?\u2028Thanks\x1f",
        email_message_id="<abc.123@mail.example.com>",
        cc_emails=["cc1@example.com", "Cc Two <cc2@example.com>"],
        bcc_emails=["bcc@example.com"],
        sent_at=at(10, 9),
    )
    email_out = MessageFactory.create(
        conversation=cv1,
        public_id="msg_email_out",
        modality=Modality.EMAIL,
        direction=Direction.SENT,
        agent=alice,
        subject="Re: Quote request",
        content="<p>Here it is: <a href='https://example.com/offer'>offer</a></p>",
        email_message_id="<msg_email_out@acme.example>",
        cc_emails=[],
        bcc_emails=[],
        drafted_at=at(10, 9, 50),
        sent_at=at(10, 10, 0, 0, 250000),
    )
    TrackedLinkFactory.create(
        message=email_out, public_id="lnk_offer", url="https://example.com/offer", click_count=3
    )
    TrackedLinkFactory.create(
        message=email_out,
        public_id="lnk_unicode",
        url="https://example.com/ünïcode?q=a&b=\u2028",
        click_count=0,
    )
    MessageFactory.create(
        conversation=cv1,
        public_id="msg_text_in",
        modality=Modality.TEXT,
        direction=Direction.RECEIVED,
        agent=None,
        subject=None,
        content="Thx! 👍",
        sent_at=at(10, 11),
    )
    MessageFactory.create(
        conversation=cv1,
        public_id="msg_call",
        modality=Modality.CALL,
        direction=Direction.SENT,
        subject=None,
        content=None,
        call_transcript="Agent: Hi.\nContact: Hello — yes.",
        call_duration=754,
        sent_at=at(10, 12),
    )
    MessageFactory.create(
        conversation=cv1,
        public_id="msg_call_zero",
        modality=Modality.CALL,
        direction=Direction.RECEIVED,
        subject=None,
        content="",
        call_transcript="",
        call_duration=0,
        sent_at=at(10, 12),  # the same instant as the call before: ordered by id
    )
    MessageFactory.create(
        conversation=cv1,
        public_id="msg_chat",
        modality=Modality.LIVE_CHAT,
        direction=Direction.RECEIVED,
        subject=None,
        content="live chat <b>hi</b>",
        sent_at=at(10, 13),
    )
    MessageFactory.create(
        conversation=cv1,
        public_id="msg_form",
        modality=Modality.FORM,
        direction=Direction.RECEIVED,
        subject="Website form",
        content=None,
        form_request_body={"name": "Zoë", "fields": NESTED, "custom": AWKWARD},
        sent_at=at(10, 14),
    )
    MessageFactory.create(
        conversation=cv1,
        public_id="msg_form_null",
        modality=Modality.FORM,
        direction=Direction.RECEIVED,
        subject=None,
        content=None,
        form_request_body=None,
        sent_at=at(10, 15),
    )
    MessageFactory.create(
        conversation=cv2,
        public_id="msg_cv2_text",
        modality=Modality.TEXT,
        direction=Direction.RECEIVED,
        content="Need a gutter fix",
        sent_at=at(12, 15),
    )
    MessageFactory.create(
        conversation=cv2,
        public_id="msg_cv2_reply",
        modality=Modality.TEXT,
        direction=Direction.SENT,
        content="On it",
        sent_at=at(12, 16, 1, 1, 1),
    )
    MessageFactory.create(
        conversation=cv3,
        public_id="msg_cv3_email",
        modality=Modality.EMAIL,
        direction=Direction.RECEIVED,
        agent=None,
        sent_at=at(33),  # February: outside the analytics window of January
    )
    MessageFactory.create(conversation=zconversation, public_id="msg_zenith", sent_at=at(10, 9, 30))

    sale = SaleFactory.create(
        organization=acme,
        public_id="sal_full",
        company=big,
        owner=alice,
        quote_details={
            "output": {"currency": "EUR", "total_price": "12345678.90"},
            "arguments": {
                "products": [
                    {"quantity": 2, "unit_price": "600.00", "product_name": "Gutter — ünï"},
                    {"quantity": 1, "unit_price": "0.10", "product_name": "Clip\u2028"},
                ]
            },
            "agent_overrides": {"discount": 0.1, "nested": NESTED},
        },
        custom_fields=AWKWARD,
        created_at=at(15, 9, 0, 0, 999999),
        last_activity_at=at(16),
    )
    SaleStatusChange.objects.create(
        organization=acme, sale=sale, label="Site visit", status=None, changed_at=at(15, 12)
    )
    SaleStatusChange.objects.create(
        organization=acme,
        sale=sale,
        label="Accepted ✓",
        status=SaleStatus.ACCEPTED,
        changed_at=at(16),
    )
    SaleContactFactory.create(sale=sale, contact=c1, is_primary=True)
    SaleContactFactory.create(sale=sale, contact=c3, is_primary=False)
    SaleConversationFactory.create(sale=sale, conversation=cv1)
    SaleConversationFactory.create(sale=sale, conversation=cv3)
    SaleFactory.create(
        organization=acme,
        public_id="sal_bare",
        company=None,
        owner=None,
        quote_details={},
        custom_fields={},
        created_at=at(15, 9, 0, 0, 999999),
    )
    SaleFactory.create(
        organization=acme, public_id="sal_bob", company=bare, owner=bob, created_at=at(17)
    )
    SaleFactory.create(
        organization=acme,
        public_id="sal_draft",
        is_draft=True,
        owner=alice,
        company=None,
        created_at=at(18),
    )
    SaleFactory.create(organization=zenith, public_id="sal_zenith", owner=zed, created_at=at(15))

    def draft(public_id: str, status: str, created: datetime, **fields: Any) -> ResponseDraft:
        return ResponseDraftFactory.create(
            conversation=cv1,
            public_id=public_id,
            message_public_id=f"msg_of_{public_id}",
            status=status,
            created_at=created,
            updated_at=created + timedelta(minutes=5),
            **fields,
        )

    draft("rdr_superseded", DraftStatus.SUPERSEDED, at(10, 16), body_html=None)
    draft(
        "rdr_failed",
        DraftStatus.FAILED,
        at(10, 17),
        cc_emails=["cc@example.com"],
        bcc_emails=["bcc1@example.com", "bcc2@example.com"],
        scheduled_to_send=True,
        scheduled_send_at=at(10, 17, 1),
        attempts=5,
        last_error="550 mailbox unavailable — «no»\u2028",
    )
    draft(
        "rdr_sent",
        DraftStatus.SENT,
        at(10, 18),
        modality=DraftModality.TEXT,
        body_html="Sent ✓",
        scheduled_to_send=True,
        scheduled_send_at=at(10, 18),
        sent_at=at(10, 18, 0, 3, 141592),
        attempts=1,
        last_error="an earlier attempt timed out",  # not a failure: no failure_reason
    )
    draft("rdr_pending", DraftStatus.PENDING, at(10, 19), body_html="<p>Tuesday?</p>\r\n")
    ResponseDraftFactory.create(
        conversation=zconversation,
        public_id="rdr_zenith",
        message_public_id="msg_of_rdr_zenith",
        created_at=at(10),
        updated_at=at(10),
    )

    hooks = Endpoint.objects.create(
        organization=acme,
        public_id="whe_all",
        url="https://hooks.example.com/all",
        events=["*"],
        description=None,
        created_at=at(4),
        updated_at=at(4),
    )
    Endpoint.objects.create(
        organization=acme,
        public_id="whe_some",
        url="https://hooks.example.com/some?x=1&y=ü",
        events=["contact.created", "conversation.created"],
        description="CRM sync — ünï\u2028",
        enabled=False,
        created_at=at(4),
        updated_at=at(4),
    )
    Endpoint.objects.create(
        organization=zenith,
        public_id="whe_zenith",
        url="https://hooks.example.com/z",
        events=["*"],
        created_at=at(4),
        updated_at=at(4),
    )
    for n, (status, attempts, code, error, due) in enumerate(
        [
            (DeliveryStatus.SUCCEEDED, 1, 200, None, None),
            (DeliveryStatus.FAILED, 8, 500, "HTTP 500: «boom»\u2028", None),
            (DeliveryStatus.PENDING, 2, None, "timed out", at(21, 9, 0, 30)),
            (DeliveryStatus.PENDING, 0, None, None, at(21, 9)),
        ]
    ):
        Delivery.objects.create(
            organization=acme,
            endpoint=hooks,
            public_id=f"whd_{n}",
            event_id=f"evt_{n}",
            event_type="contact.created",
            body="{}",
            status=status,
            attempts=attempts,
            last_status_code=code,
            last_error=error,
            next_attempt_at=due,
            created_at=at(21, 9) if n >= 2 else at(20 + n),
        )

    _key, key = api_key_create(organizations=[acme, beta, dormant], name="golden")
    _key, read_only = api_key_create(organizations=[acme], name="read-only", read_only=True)
    _key, expired = api_key_create(
        organizations=[acme], name="expired", expires_at=NOW - timedelta(seconds=1)
    )
    _key, revoked = api_key_create(organizations=[acme], name="revoked")
    api_key_revoke(key_or_prefix=revoked)
    _key, zenith_key = api_key_create(organizations=[zenith], name="zenith")
    return {
        "key": key,
        "read_only": read_only,
        "expired": expired,
        "revoked": revoked,
        "zenith_key": zenith_key,
    }


# -- requests and answers -------------------------------------------------------------------

CURSOR_TOKEN = re.compile(rb"gAAAAA[A-Za-z0-9_=-]+")
NEXT_CURSOR = re.compile(rb'"next_cursor":"([^"]+)"')


class Recorder:
    """Sends the requests and keeps each answer as the golden data holds it."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.client = APIClient()
        self.keys = keys
        self.answers: list[dict[str, Any]] = []

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = "key",
        raw: bytes | None = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        model: type[Model] | None = None,
        label: str = "",
    ) -> bytes:
        """One request (path relative to /api/v2 unless it starts with /api or //); its
        answer is recorded, and its raw body returned."""
        url = path if path.startswith("/api") else f"/api/v2{path}"
        all_headers = dict(headers or {})
        if key is not None:
            all_headers["X-API-KEY"] = self.keys.get(key, key)
        kwargs: dict[str, Any] = {"headers": all_headers}
        if method in ("POST", "PATCH", "PUT", "DELETE") and (body is not None or raw is not None):
            kwargs["data"] = raw if raw is not None else json.dumps(body)
            kwargs["content_type"] = content_type
        response = getattr(self.client, method.lower())(url, **kwargs)
        content = bytes(response.content)
        self.answers.append(
            {
                # A cursor in the URL is a token of an earlier answer: written as its payload.
                "request": normalized(f"{method} {url}".encode(), model).decode()
                + (f" [{label}]" if label else ""),
                "status": response.status_code,
                "content_type": response.get("Content-Type"),
                "body": normalized(content, model).decode("utf-8", "surrogateescape"),
            }
        )
        return content

    def get(self, path: str, **options: Any) -> bytes:
        return self.send("GET", path, **options)

    def pages(self, path: str, model: type[Model], **options: Any) -> int:
        """Every page of a list, following next_cursor; how many pages."""
        separator = "&" if "?" in path else "?"
        content = self.get(path, model=model, **options)
        count = 1
        while (found := NEXT_CURSOR.search(content)) is not None:
            assert count < 50, f"{path}: too many pages"
            content = self.get(
                f"{path}{separator}cursor={found.group(1).decode()}", model=model, **options
            )
            count += 1
        return count


def normalized(content: bytes, model: type[Model] | None) -> bytes:
    """The body with each cursor (a Fernet token: random IV, and the time it was made)
    replaced by its decrypted payload, and the internal id ending the payload's key (a
    database sequence value) by that row's public id. Nothing else is rewritten."""

    def payload(match: re.Match[bytes]) -> bytes:
        try:
            decrypted = json.loads(fernet("pagination.cursor").decrypt(match.group(0)))
        except (InvalidToken, ValueError):  # a made-up token (the bad-cursor requests): as is
            return match.group(0)
        key = decrypted["k"]
        assert model is not None, "a request that can carry a cursor names its model"
        if key and isinstance(key[-1], int):
            row = model.objects.unscoped().filter(pk=key[-1]).first()  # type: ignore[attr-defined]
            key[-1] = f"<id of {row.public_id if row else '?'}>"
        text = json.dumps(decrypted, separators=(",", ":"), ensure_ascii=True)
        return f"<cursor {text}>".encode().replace(b'"', b"'")

    return CURSOR_TOKEN.sub(payload, content)


def exercise(api: Recorder) -> None:
    """The requests, in order: reads of the dataset, errors, writes, reads after them."""
    org = "/organizations/org_GoldenAcme"
    jan = "start_date=2025-01-01T00:00:00Z&end_date=2025-02-01T00:00:00Z"

    # Organizations: the key reaches Acme and Beta (Dormant is inactive, Zenith not its own).
    api.get("/organizations")
    api.get("/organizations/")
    api.get(org)
    api.get("/organizations/org_GoldenBeta")
    api.get("/organizations/org_GoldenZenith")
    api.get("/organizations/org_GoldenDormant")
    api.get("/organizations/org_Nope")
    api.get("/organizations/ctc_awkward")  # another type's prefix: 400
    api.get("/organizations/bad%20id")
    api.get("/organizations", key="zenith_key")
    api.get("/organizations?limit=5")

    # Agents.
    api.pages(f"{org}/agents", Agent)
    api.pages(f"{org}/agents?limit=2", Agent)
    api.get(f"{org}/agents?limit=1&cursor=", model=Agent)
    for agent in ("agt_alice", "agt_bob", "agt_carol", "agt_imported.id=1"):
        api.get(f"{org}/agents/{agent}")
        api.get(f"{org}/agents/{agent}/")
    api.get(f"{org}/agents/agt_zenith")
    api.get(f"{org}/agents/cmp_big")
    api.get(f"{org}/agents/agt_alice?limit=1")
    api.pages(f"{org}/agents/agt_alice/conversations", Conversation)
    api.pages(f"{org}/agents/agt_alice/conversations?limit=1", Conversation)
    api.get(f"{org}/agents/agt_bob/conversations?start_date=2025-01-12T14:30:15.5Z")
    api.get(f"{org}/agents/agt_dave/conversations")
    api.get(f"{org}/agents/agt_zenith/conversations")
    api.pages(f"{org}/agents/agt_alice/sales", Sale)
    api.get(f"{org}/agents/agt_bob/sales?end_date=2025-01-17T00:00:00Z")
    api.get(f"{org}/agents/agt_nope/sales")

    # Companies.
    api.pages(f"{org}/companies", Company)
    api.pages(f"{org}/companies?limit=1", Company)
    for company in ("cmp_big", "cmp_bare", "cmp_tie"):
        api.get(f"{org}/companies/{company}")
    api.get(f"{org}/companies/cmp_zenith")
    api.get(f"{org}/companies?name=x")

    # Contacts, their filters and their conversations.
    api.pages(f"{org}/contacts", Contact)
    api.pages(f"{org}/contacts?limit=2", Contact)
    api.pages(f"{org}/contacts?limit=3&company_id=cmp_bare", Contact)
    for query in (
        "email=zoe.obrien%40example.com",
        "email=ZOE.OBRIEN%40EXAMPLE.COM",
        "email=",
        "phone_number=%2B15135550100",
        "phone_number=513-555-0101",
        "phone_number=not-a-number",
        "company_id=cmp_big",
        "company_id=cmp_zenith",
        "company_id=ctc_awkward",
        "start_date=2025-01-06T00:00:00Z&end_date=2025-01-08T00:00:00Z",
        "start_date=2025-01-06&end_date=2025-01-08",
        "start_date=2025-01-06T01:00:00%2B01:00",
        "start_date=2025-01-06T01:00:00+01:00",
        "start_date=2025-01-09T00:00:00Z&end_date=2025-01-08T00:00:00Z",
        "start_date=yesterday",
        "start_date=2025-01-08T09:00:00Z&limit=2",
    ):
        api.get(f"{org}/contacts?{query}", model=Contact)
    for contact in ("ctc_awkward", "ctc_phone_only", "ctc_email_only", "ctc_same_0"):
        api.get(f"{org}/contacts/{contact}")
    api.get(f"{org}/contacts/ctc_zenith")
    api.get(f"{org}/contacts/ctc_nope")
    api.get(f"{org}/contacts/agt_alice")
    api.pages(f"{org}/contacts/ctc_awkward/conversations", Conversation)
    api.pages(f"{org}/contacts/ctc_awkward/conversations?limit=1", Conversation)
    api.get(f"{org}/contacts/ctc_phone_only/conversations?end_date=2025-01-12T14:30:15.5Z")
    api.get(f"{org}/contacts/ctc_same_1/conversations")
    api.get(f"{org}/contacts/ctc_zenith/conversations")

    # Conversations, their messages and response drafts.
    api.pages(f"{org}/conversations", Conversation)
    api.pages(f"{org}/conversations?limit=1", Conversation)
    for query in (
        "folder=inbox",
        "folder=sales-follow-up",
        "folder=nope",
        "is_read=true",
        "is_read=false",
        "is_read=maybe",
        "is_read=true&folder=archive",
        "start_date=2025-01-12T14:30:15.500000Z",
        "end_date=2025-01-12T14:30:15.500001Z&limit=1",
    ):
        api.get(f"{org}/conversations?{query}", model=Conversation)
    for conversation in ("cnv_every_modality", "cnv_text", "cnv_bob", "cnv_empty"):
        api.get(f"{org}/conversations/{conversation}")
        api.pages(f"{org}/conversations/{conversation}/messages", Message)
    api.get(f"{org}/conversations/cnv_zenith")
    api.pages(f"{org}/conversations/cnv_every_modality/messages?limit=3", Message)
    api.get(
        f"{org}/conversations/cnv_every_modality/messages?start_date=2025-01-10T12:00:00Z"
        "&end_date=2025-01-10T14:00:00Z",
        model=Message,
    )
    for message in (
        "msg_email_in",
        "msg_email_out",
        "msg_text_in",
        "msg_call",
        "msg_call_zero",
        "msg_chat",
        "msg_form",
        "msg_form_null",
    ):
        api.get(f"{org}/conversations/cnv_every_modality/messages/{message}")
    api.get(f"{org}/conversations/cnv_text/messages/msg_email_in")  # another conversation's
    api.get(f"{org}/conversations/cnv_zenith/messages")
    api.get(f"{org}/conversations/cnv_every_modality/messages/msg_zenith")
    api.pages(f"{org}/conversations/cnv_every_modality/response-drafts", ResponseDraft)
    api.pages(f"{org}/conversations/cnv_every_modality/response-drafts?limit=1", ResponseDraft)
    api.get(
        f"{org}/conversations/cnv_every_modality/response-drafts?start_date=2025-01-10T18:00:00Z",
        model=ResponseDraft,
    )
    api.get(f"{org}/conversations/cnv_text/response-drafts")
    api.get(f"{org}/conversations/cnv_zenith/response-drafts")

    # Sales.
    api.pages(f"{org}/sales", Sale)
    api.pages(f"{org}/sales?limit=1", Sale)
    api.get(f"{org}/sales?start_date=2025-01-16T00:00:00Z", model=Sale)
    for sale in ("sal_full", "sal_bare", "sal_bob"):
        api.get(f"{org}/sales/{sale}")
    api.get(f"{org}/sales/sal_draft")
    api.get(f"{org}/sales/sal_zenith")

    # Webhook endpoints and their deliveries.
    api.pages(f"{org}/webhook-endpoints", Endpoint)
    api.pages(f"{org}/webhook-endpoints?limit=1", Endpoint)
    for endpoint in ("whe_all", "whe_some"):
        api.get(f"{org}/webhook-endpoints/{endpoint}")
    api.get(f"{org}/webhook-endpoints/whe_zenith")
    api.pages(f"{org}/webhook-endpoints/whe_all/deliveries", Delivery)
    api.pages(f"{org}/webhook-endpoints/whe_all/deliveries?limit=1", Delivery)
    api.get(f"{org}/webhook-endpoints/whe_some/deliveries")
    api.get(f"{org}/webhook-endpoints/whe_zenith/deliveries")
    api.get(f"{org}/webhook-endpoints/whe_all/deliveries/whd_0")  # no retrieve route

    # Analytics, with explicit windows.
    base = f"{org}/analytics/conversations"
    for suffix in ("", "/response-rate", "/response-time", "/volume", "/modality"):
        api.get(f"{base}{suffix}?{jan}")
        api.get(f"{base}{suffix}/?start_date=2025-01-01&end_date=2025-03-01")
        api.get(f"{base}{suffix}?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z")
    for query in (
        "",
        "start_date=2025-01-01T00:00:00Z",
        "start_date=bad&end_date=worse",
        "start_date=2025-02-01T00:00:00Z&end_date=2025-01-01T00:00:00Z",
        "start_date=2025-01-01T00:00:00Z&end_date=2025-03-01T12:00:01Z",
        f"{jan}&limit=5",
    ):
        api.get(f"{base}?{query}")
    api.get(f"/organizations/org_GoldenZenith/analytics/conversations?{jan}")

    # The API reference.
    api.get("/openapi.json")

    # Errors: keys.
    api.get(f"{org}/contacts", key=None)
    api.get(f"{org}/contacts", key="")
    api.get(f"{org}/contacts", key="hrk_notakey")
    api.get(f"{org}/contacts", key="hrk_AAAAAAAA_" + "B" * 43)
    api.get(f"{org}/contacts", key="expired")
    api.get(f"{org}/contacts", key="revoked")
    api.get(f"{org}/contacts", key="zenith_key")
    api.get("/organizations", key=None)
    api.get("/organizations/bad%20id/contacts", key=None)
    # Errors: ids, paths, query strings, pages.
    api.get("/organizations/bad%20id/contacts")
    api.get("/organizations/org_Nope/contacts")
    api.get("/organizations/org_GoldenZenith/contacts")
    api.get("/organizations/org_GoldenDormant/contacts")
    api.get(f"{org}/contacts/bad%20id")
    api.get(f"{org}/contacts/{'x' * 256}")
    api.get(f"{org}/conversations/cnv_nope/messages")
    api.get(f"{org}/conversations/ctc_awkward/messages")
    api.get("/nope")
    api.get("/nope", key=None)
    api.get("/api/v2", key=None)
    api.get("/api/v2")
    api.get("/api/v3/organizations")
    api.get(f"{org}/nope")
    api.get(f"{org}/contacts/ctc_awkward/nope")
    api.get(f"{org}/contacts?start_dat=2025-01-01")
    api.get(f"{org}/contacts?limit=2&limit=3")
    api.get(f"{org}/contacts?email=%00")
    api.get(f"{org}/contacts/ctc_awkward?x=1")
    for limit in ("0", "501", "-1", "abc", "01", "1.5", "500", ""):
        api.get(f"{org}/contacts?limit={limit}", model=Contact)
    api.get(f"{org}/contacts?cursor=not-a-cursor")
    api.get(f"{org}/contacts?cursor=gAAAAABnotreallyatoken")
    first_page = api.get(f"{org}/agents?limit=1", model=Agent)
    found = NEXT_CURSOR.search(first_page)
    assert found is not None
    agents_cursor = found.group(1).decode()
    api.get(
        f"{org}/contacts?cursor={agents_cursor}", label="another collection's cursor", model=Agent
    )
    api.get(f"{org}/agents?limit=1&folder=x&cursor={agents_cursor}", model=Agent)
    api.get(
        f"/organizations/org_GoldenBeta/agents?cursor={agents_cursor}",
        label="another organization's cursor",
        model=Agent,
    )
    api.get(f"{org}/agents?limit=3&cursor={agents_cursor}", model=Agent, label="another limit")
    api.send("DELETE", f"{org}/contacts")
    api.send("PUT", f"{org}/contacts/ctc_awkward", {"name": "x"})
    api.send("POST", f"{org}/agents", {"name": "x"})
    api.send("POST", "/organizations", {"name": "x"})

    # Writes: refused ones first.
    api.send("POST", f"{org}/contacts", {"name": "Nope"}, key="read_only")
    api.send("POST", f"{org}/contacts", {"name": "Nope"}, key=None)
    api.send("POST", f"{org}/contacts", raw=b"{not json", label="malformed JSON")
    api.send("POST", f"{org}/contacts", raw=b"[]", label="an array")
    api.send(
        "POST",
        f"{org}/contacts",
        raw=b"name=x",
        content_type="application/x-www-form-urlencoded",
        label="a form body",
    )
    api.send(
        "POST",
        f"{org}/contacts",
        {
            "name": 5,
            "email": "not-an-email",
            "phone_number": "123",
            "custom_fields": {"x": {"nested": 1}},
            "extra": 1,
        },
    )
    api.send("POST", f"{org}/contacts", {})
    api.send("POST", f"{org}/contacts", {"name": "X", "company_id": "cmp_zenith"})
    api.send("POST", f"{org}/contacts", {"name": "X", "company_id": "ctc_awkward"})
    api.send("POST", f"{org}/companies", {"name": "X", "domain": "nodot", "agent_id": "agt_nope"})
    api.send("POST", f"{org}/companies", {"name": "X", "agent_id": "agt_zenith"})
    api.send("POST", f"{org}/message-drafts", {"modality": "email", "subject": "Hi"})
    api.send(
        "POST",
        f"{org}/message-drafts",
        {"modality": "fax", "to_email": "a@example.com", "autosend_draft": "yes"},
    )
    api.send(
        "POST",
        f"{org}/message-drafts",
        {
            "modality": "email",
            "to_email": "a@example.com",
            "subject": "Hi",
            "autosend_draft": True,
            "add_notification": True,
        },
    )
    api.send(
        "POST",
        "/organizations/org_GoldenBeta/message-drafts",
        {"modality": "email", "to_email": "a@example.com", "subject": "no channel"},
    )
    api.send("POST", f"{org}/conversations/cnv_every_modality/response-drafts", {"body_html": " "})
    api.send(
        "POST", f"{org}/webhook-endpoints", {"url": "https://hooks.example.com/x", "events": []}
    )
    api.send("POST", f"{org}/webhook-endpoints", {"url": "http://10.0.0.1/x", "events": ["*"]})
    api.send("PATCH", f"{org}/webhook-endpoints/whe_some", {"events": ["*", "contact.created"]})

    # Writes that succeed: the answer bodies, then the lists that show them.
    api.send(
        "POST",
        f"{org}/companies",
        {
            "name": "New Co — ünï",
            "domain": "HTTPS://WWW.New-Co.Example:8443/path?q=1",
            "address": "",
            "custom_fields": AWKWARD,
            "agent_id": "agt_bob",
        },
    )
    api.send("POST", f"{org}/companies", {"name": "Minimal Co"})
    api.send(
        "POST",
        f"{org}/contacts",
        {
            "name": "New \u2028 Person",
            "email": "New.Person@Example.com",
            "phone_number": "(513) 555-0199",
            "company_id": "cmp_big",
            "company_role": "Buyer",
            "custom_fields": AWKWARD,
        },
    )
    api.send("POST", f"{org}/contacts", {"phone_number": "+15135550198"})
    idempotent = {"email": "once@example.com"}
    for _ in range(2):  # the second answer is the kept one, replayed
        api.send("POST", f"{org}/contacts", idempotent, headers={"Idempotency-Key": "golden-key-1"})
    api.send(
        "POST",
        f"{org}/contacts",
        {"email": "other@example.com"},
        headers={"Idempotency-Key": "golden-key-1"},
        label="the key with another body",
    )
    api.send(
        "POST",
        f"{org}/message-drafts",
        {
            "modality": "email",
            "subject": "Your quote — ünï",
            "body_html": "<p>Hi\u2028there</p>",
            "to_user_name": "Zoë",
            "to_email": "zoe.obrien@example.com",
            "cc_emails": ["cc@example.com"],
            "bcc_emails": ["bcc@example.com"],
            "autosend_draft": True,
            "folder": "Sales Follow-up",
        },
    )
    api.send(
        "POST",
        f"{org}/message-drafts",
        {"modality": "text", "body_html": "Hello", "to_phone_number": "513 555 0177"},
    )
    api.send(
        "POST",
        f"{org}/messages-drafts",
        {"modality": "email", "subject": "Legacy", "to_email": "legacy@example.com"},
    )
    api.send(
        "POST",
        f"{org}/messages-drafts",
        {
            "modality": "text",
            "body_html": "Legacy text",
            "to_phone_number": "+15135550101",
            "autosend_draft": True,
            "folder": "Ünïcode Folder",
        },
    )
    api.send(
        "POST",
        f"{org}/conversations/cnv_every_modality/response-drafts",
        {"body_html": "<p>New version</p>\u2028", "cc_emails": None, "bcc_emails": []},
    )
    api.send(
        "POST",
        f"{org}/conversations/cnv_bob/response-drafts",
        {"body_html": "<p>Email reply</p>", "cc_emails": ["x@example.com"], "bcc_emails": None},
    )
    api.send(
        "POST",
        f"{org}/conversations/cnv_every_modality/response-drafts",
        {"body_html": "text has no copies", "cc_emails": ["x@example.com"]},
    )
    api.send(
        "POST",
        f"{org}/conversations/cnv_text/response-drafts",
        {"body_html": "Text reply", "autosend_draft": True},
    )
    api.send(
        "POST",
        f"{org}/webhook-endpoints",
        {
            "url": "https://hooks.example.com/new",
            "events": ["contact.created", "contact.created", "message.sent"],
            "description": "New — ünï",
        },
    )
    api.send(
        "PATCH",
        f"{org}/webhook-endpoints/whe_some",
        {"enabled": True, "description": None, "url": "https://hooks.example.com/changed"},
    )
    api.send("PATCH", f"{org}/webhook-endpoints/whe_some", {})
    api.send("POST", f"{org}/webhook-endpoints/whe_some/rotate-secret")
    api.send("POST", f"{org}/webhook-endpoints/whe_some/rotate-secret", {"x": 1})
    api.send("POST", f"{org}/webhook-endpoints/whe_all/deliveries/whd_1/retry")
    api.send("POST", f"{org}/webhook-endpoints/whe_all/deliveries/whd_nope/retry")
    api.send("DELETE", f"{org}/webhook-endpoints/whe_minted0000000000000001")
    api.send("DELETE", f"{org}/webhook-endpoints/whe_minted0000000000000001")

    api.pages(f"{org}/companies", Company)
    api.pages(f"{org}/contacts?limit=4", Contact)
    api.pages(f"{org}/conversations", Conversation)
    api.pages(f"{org}/conversations/cnv_every_modality/response-drafts", ResponseDraft)
    api.pages(f"{org}/conversations/cnv_text/response-drafts", ResponseDraft)
    api.pages(f"{org}/conversations/cnv_bob/response-drafts", ResponseDraft)
    api.pages(f"{org}/webhook-endpoints", Endpoint)
    api.pages(f"{org}/webhook-endpoints/whe_all/deliveries?limit=3", Delivery)
    api.get(f"{base}?{jan}")


# -- the comparison -------------------------------------------------------------------------


def golden_path() -> Path:
    return GOLDEN_DIR / f"{connection.vendor}.json"


def differences(expected: list[dict[str, Any]], actual: list[dict[str, Any]]) -> Iterator[str]:
    if len(expected) != len(actual):
        yield f"{len(actual)} answers, the golden data has {len(expected)}"
    for number, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want["request"] != got["request"]:
            yield f"#{number}: request {got['request']!r}, the golden data has {want['request']!r}"
            continue
        for field in ("status", "content_type"):
            if want[field] != got[field]:
                yield f"#{number} {got['request']}: {field} {got[field]!r} != {want[field]!r}"
        if want["body"] != got["body"]:
            a = want["body"].encode("utf-8", "surrogateescape")
            b = got["body"].encode("utf-8", "surrogateescape")
            at_byte = next(
                (i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y),
                min(len(a), len(b)),
            )
            start = max(0, at_byte - 60)
            yield (
                f"#{number} {got['request']}: body differs from byte {at_byte} "
                f"(golden {len(a)} bytes, now {len(b)}):\n"
                f"    golden: {a[start : at_byte + 80]!r}\n"
                f"    now:    {b[start : at_byte + 80]!r}"
            )


def test_every_answer_is_byte_identical_to_the_golden_data(deterministic: None) -> None:
    keys = build()
    api = Recorder(keys)
    exercise(api)
    actual = api.answers
    # A run that fell back on a server error would compare 500s: none is expected.
    assert not [a["request"] for a in actual if a["status"] >= 500]

    path = golden_path()
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        document = {"vendor": connection.vendor, "answers": actual}
        path.write_text(json.dumps(document, indent=1, ensure_ascii=True) + "\n")
        return
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to write it"
    expected = json.loads(path.read_text())["answers"]
    problems = list(differences(expected, actual))
    assert not problems, f"{len(problems)} answers differ:\n" + "\n".join(problems)
