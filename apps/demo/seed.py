"""A realistic demo organization: agents, companies, contacts, conversations with messages of
every modality, sales at every status, and both drafting channels enabled.

Deterministic for a seed: the random draws never depend on the clock, so a seed gives the same
rows whenever it runs, only their timestamps (relative to the moment of seeding) move, and
with them which conversations are old enough to have been read. It scales to
millions of messages for benchmarks: rows are plain dicts of column values, generated and
inserted a chunk of conversations at a time (COPY on PostgreSQL), and only small
per-contact summaries stay in memory.
"""

import json
import math
import random
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import islice
from typing import Any, NamedTuple

from django.db import connection, models, transaction
from django.utils import timezone
from psycopg import sql

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Direction, Message, Modality, TrackedLink
from apps.conversations.services import conversations_touch
from apps.demo import content
from apps.keys.services import api_key_create
from apps.organizations.models import ChannelKind, Organization
from apps.organizations.services import channel_configure
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatus, SaleStatusChange
from hyperrep import ids

Row = dict[str, Any]  # column values of one row, by attribute name (`contact_id`, ...)

INSERT_BATCH = 2000  # rows per INSERT statement where COPY is not available
CHUNK = 1000  # conversations (or contacts, sales) generated, inserted and forgotten together
HISTORY_DAYS = 400
RECEIVED, SENT = Direction.RECEIVED.value, Direction.SENT.value
KINDS = [Modality.EMAIL, Modality.TEXT, Modality.CALL, Modality.LIVE_CHAT, Modality.FORM]
KIND_WEIGHTS = [40, 22, 12, 14, 12]
OUTBOUND_KINDS = [Modality.EMAIL, Modality.TEXT, Modality.CALL]  # what an agent reaches out by
# The current status a sale ends at; None is a custom stage of the pipeline.
OUTCOMES: list[str | None] = [
    SaleStatus.QUOTE_SENT,
    SaleStatus.ACCEPTED,
    SaleStatus.DECLINED,
    SaleStatus.LOST,
    None,
]
OUTCOME_WEIGHTS = [30, 30, 12, 13, 15]
FOLDER_SLUGS = [slug for slug, _weight in content.FOLDERS]
FOLDER_WEIGHTS = [weight for _slug, weight in content.FOLDERS]
# Random bytes to base62 characters. 256 is not a multiple of 62, so the first eight
# characters come up slightly more often: harmless for demo ids, and 20x faster than
# drawing each character.
_BASE62_BYTES = bytes.maketrans(bytes(range(256)), (ids.BASE62 * 5)[:256].encode())
MESSAGE_DEFAULTS: Row = {
    "agent_id": None,
    "subject": None,
    "content": None,
    "call_transcript": None,
    "call_duration": None,
    "form_request_body": None,
    "drafted_at": None,
    "email_message_id": None,
    "cc_emails": [],
    "bcc_emails": [],
}


@dataclass(frozen=True)
class Size:
    """How much to seed."""

    messages: int
    agents: int
    companies: int
    contacts: int
    sales: int

    @classmethod
    def for_messages(
        cls,
        messages: int = 2000,
        *,
        agents: int | None = None,
        companies: int | None = None,
        contacts: int | None = None,
        sales: int | None = None,
    ) -> "Size":
        """Counts not given follow the message count: the default 2,000 messages give
        5 agents, 20 companies, 200 contacts, ~300 conversations and 40 sales."""

        def given(value: int | None, default: int) -> int:
            return default if value is None else value

        return cls(
            messages=messages,
            agents=given(agents, max(5, messages // 20_000)),
            companies=given(companies, max(1, messages // 100)),
            contacts=given(contacts, max(1, messages // 10)),
            sales=given(sales, max(5, messages // 50)),
        )


class ContactSummary(NamedTuple):
    """What later rows need of a contact, without keeping its row."""

    pk: int
    company_pk: int | None
    first_name: str
    email: str
    created_at: datetime


class SaleSeed(NamedTuple):
    """A conversation a sale may grow out of."""

    conversation_pk: int
    contact: ContactSummary
    agent_pk: int | None
    start_at: datetime


def seed_demo(
    *,
    name: str = "Acme Roofing (demo)",
    size: Size | None = None,
    seed: int = 7,
    progress: Callable[[str], None] | None = None,
) -> tuple[Organization, str]:
    """Create one demo organization and an API key for it; returns both (key in plaintext)."""
    size = size or Size.for_messages()
    if size.messages and not size.contacts:
        raise ValueError("messages need at least one contact")
    seeder = _Seeder(random.Random(seed), name, progress)
    with transaction.atomic():
        seeder.organization_and_channels()
        seeder.agents(size.agents)
        seeder.companies(size.companies)
        seeder.contacts(size.contacts)
        seeder.conversations(size.messages, sales=size.sales)
        seeder.sales(size.sales)
        _key, plaintext = api_key_create(organizations=[seeder.organization], name="demo")
    return seeder.organization, plaintext


def insert_rows(model: type[models.Model], rows: list[Row]) -> None:
    """Insert rows (dicts with the same keys) and set each one's "id".

    On PostgreSQL the ids are drawn from the table's sequence and the rows streamed with COPY,
    several times faster than INSERT; elsewhere it is bulk_create."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objects = model._default_manager.bulk_create(
            [model(**row) for row in rows], batch_size=INSERT_BATCH
        )
        for row, obj in zip(rows, objects, strict=True):
            assert obj.pk is not None  # bulk_create returns keys on PostgreSQL and SQLite
            row["id"] = obj.pk
        return
    table = model._meta.db_table
    names = list(rows[0])
    fields = [model._meta.get_field(name) for name in names]
    json_names = {
        name for name, f in zip(names, fields, strict=True) if isinstance(f, models.JSONField)
    }
    columns = ["id", *(str(field.column) for field in fields)]  # type: ignore[union-attr]
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, len(rows)],
        )
        pks = [pk for (pk,) in cursor.fetchall()]
        with cursor.cursor.copy(copy) as stream:
            for pk, row in zip(pks, rows, strict=True):
                row["id"] = pk
                values = [pk]
                for name in names:
                    value = row[name]
                    values.append(
                        json.dumps(value) if name in json_names and value is not None else value
                    )
                stream.write_row(values)


class _Seeder:
    def __init__(
        self, rng: random.Random, name: str, progress: Callable[[str], None] | None
    ) -> None:
        self.rng = rng
        self.name = name
        self.slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20] or "demo"
        self.progress = progress
        self.now = timezone.now().replace(microsecond=0)
        self.oldest = self.now - timedelta(days=HISTORY_DAYS)
        self.agent_rows: list[Agent] = []
        self.company_pks: list[int] = []
        self.contact_rows: list[ContactSummary] = []
        self.longest_standing: ContactSummary | None = None  # the contact created first
        self.contacts_by_company: dict[int, list[ContactSummary]] = {}
        # A few conversations per contact, for a sale's associated conversations.
        self.conversations_by_contact: dict[int, list[int]] = {}
        self.sale_seeds: list[SaleSeed] = []
        self.sale_candidates = 0

    def public_id(self, prefix: str) -> str:
        # From the seeded generator (not ids.mint), so that a seed gives the same ids.
        return (
            f"{prefix}_" + self.rng.randbytes(ids.MINTED_LENGTH).translate(_BASE62_BYTES).decode()
        )

    def organization_and_channels(self) -> None:
        self.organization = Organization.objects.create(name=self.name)
        self.org_pk = self.organization.pk
        # Email and text through the console transport (the log), and a form channel: drafts
        # of both kinds go out against a fresh `make run`, and the whole loop shows. The text
        # channel's console transport has Twilio credentials of its own, whose auth token
        # signs the inbound texts `make run` shows how to send.
        senders: dict[str, str] = {
            ChannelKind.EMAIL: f"{self.name} <sales@{self.slug}.example>",
            ChannelKind.TEXT: "+15550100200",
        }
        transports: dict[str, str] = {
            ChannelKind.EMAIL: "console://",
            ChannelKind.TEXT: f"console://AC{secrets.token_hex(16)}:{secrets.token_hex(16)}@",
        }
        for kind in ChannelKind.values:
            channel_configure(
                organization=self.organization,
                kind=kind,
                sender=senders.get(kind, ""),
                transport=transports.get(kind, ""),
                reply_domain=f"reply.{self.slug}.example" if kind == ChannelKind.EMAIL else "",
                enabled=True,
            )

    def agents(self, count: int) -> None:
        rng = self.rng
        firsts = rng.sample(content.FIRST, k=len(content.FIRST))
        rows = []
        for number in range(count):
            first, last = firsts[number % len(firsts)], rng.choice(content.LAST)
            suffix = "" if number < len(firsts) else str(number)
            rows.append(
                Agent(
                    organization=self.organization,
                    public_id=self.public_id("agt"),
                    name=f"{first} {last}",
                    email=f"{first}.{last}{suffix}@{self.slug}.example".lower(),
                    created_at=self.oldest - timedelta(days=30),
                )
            )
        self.agent_rows = Agent.objects.bulk_create(rows, batch_size=INSERT_BATCH)

    def companies(self, count: int) -> None:
        rng = self.rng

        def rows() -> Iterator[Row]:
            for number in range(count):
                yield {
                    "organization_id": self.org_pk,
                    "public_id": self.public_id("cmp"),
                    "name": f"{rng.choice(content.LAST)} {rng.choice(content.TRADES)}",
                    "domain": f"company{number}.example.com",
                    "address": f"{rng.randint(1, 999)} {rng.choice(content.STREETS)}, Springfield",
                    "custom_fields": {"segment": rng.choice(["smb", "mid-market"])},
                    "agent_id": self._agent_pk(),
                    "created_at": self.oldest - timedelta(seconds=rng.randint(0, 90 * 86400)),
                }

        for batch in _batches(rows(), CHUNK):
            insert_rows(Company, batch)
            self.company_pks += [row["id"] for row in batch]

    def contacts(self, count: int) -> None:
        rng = self.rng

        def rows() -> Iterator[Row]:
            for number in range(count):
                first, last = rng.choice(content.FIRST), rng.choice(content.LAST)
                company_pk = (
                    rng.choice(self.company_pks)
                    if self.company_pks and rng.random() < 0.8
                    else None
                )
                yield {
                    "organization_id": self.org_pk,
                    "public_id": self.public_id("ctc"),
                    "name": f"{first} {last}",
                    "email": f"{first}.{last}{number}@example.com".lower(),
                    "phone_number": (phone := f"+1555{rng.randint(0, 9999999):07d}"),
                    "phone_e164": phone,  # written in E.164 already
                    "company_id": company_pk,
                    "company_role": rng.choice(content.ROLES) if company_pk else None,
                    "custom_fields": {"source": rng.choice(["web", "referral", "event"])},
                    "created_at": self.now
                    - timedelta(seconds=rng.randint(3600, HISTORY_DAYS * 86400)),
                }

        for batch in _batches(rows(), CHUNK):
            insert_rows(Contact, batch)
            for row in batch:
                summary = ContactSummary(
                    row["id"],
                    row["company_id"],
                    row["name"].split()[0],
                    row["email"],
                    row["created_at"],
                )
                self.contact_rows.append(summary)
                if (
                    self.longest_standing is None
                    or summary.created_at < self.longest_standing.created_at
                ):
                    self.longest_standing = summary
                if summary.company_pk is not None:
                    self.contacts_by_company.setdefault(summary.company_pk, []).append(summary)

    def conversations(self, messages: int, *, sales: int) -> None:
        """Exactly `messages` messages, in conversations of one to a dozen and more."""
        remaining, number, reported = messages, 0, 0
        while remaining > 0:
            threads: list[_Thread] = []
            while remaining > 0 and len(threads) < CHUNK:
                thread = _Thread(self, number, budget=remaining)
                threads.append(thread)
                remaining -= len(thread.messages)
                number += 1
            insert_rows(Conversation, [t.conversation for t in threads])
            for thread in threads:
                for message in thread.messages:
                    message["conversation_id"] = thread.conversation["id"]
            insert_rows(Message, [m for t in threads for m in t.messages])
            for thread in threads:
                for message, link in thread.links:
                    link["message_id"] = message["id"]
            insert_rows(TrackedLink, [link for t in threads for _m, link in t.links])
            for thread in threads:
                self._remember(thread, sales)
            done = messages - remaining
            if self.progress is not None and done - reported >= 100_000:
                self.progress(f"{done:,} of {messages:,} messages")
                reported = done
        if connection.vendor == "postgresql":
            # Statistics of the rows just written, so that the UPDATE below probes each
            # conversation's messages by index (ANALYZE sees this transaction's own rows).
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {Message._meta.db_table}, {Conversation._meta.db_table}")
        conversations_touch(Conversation.objects.for_org(self.org_pk))

    def _remember(self, thread: "_Thread", sales: int) -> None:
        contact, conversation = thread.contact, thread.conversation
        mine = self.conversations_by_contact.setdefault(contact.pk, [])
        if len(mine) < 3:
            mine.append(conversation["id"])
        if contact.company_pk is None:
            return
        # Reservoir sampling: every conversation is as likely to grow a sale, without
        # keeping them all.
        candidate = SaleSeed(
            conversation["id"], contact, conversation["agent_id"], conversation["start_at"]
        )
        self.sale_candidates += 1
        if len(self.sale_seeds) < sales:
            self.sale_seeds.append(candidate)
        elif (slot := self.rng.randrange(self.sale_candidates)) < sales:
            self.sale_seeds[slot] = candidate

    def sales(self, count: int) -> None:
        if not self.company_pks:
            return
        drafts = min(count, max(1, count // 20))
        for start in range(0, count, CHUNK):
            plans = [
                self._sale(number, is_draft=number >= count - drafts)
                for number in range(start, min(start + CHUNK, count))
            ]
            insert_rows(Sale, [sale for sale, _related in plans])
            for sale, related in plans:
                for rows in related.values():
                    for row in rows:
                        row["sale_id"] = sale["id"]
            for model in (SaleStatusChange, SaleContact, SaleConversation):
                insert_rows(model, [row for _sale, related in plans for row in related[model]])

    def _sale(
        self, number: int, *, is_draft: bool
    ) -> tuple[Row, dict[type[models.Model], list[Row]]]:
        rng = self.rng
        seed = self.sale_seeds[number] if number < len(self.sale_seeds) else None
        # The first sales take every outcome in turn, so that even a small seed has all.
        outcome = (
            OUTCOMES[number]
            if number < len(OUTCOMES)
            else rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        )
        history = [] if is_draft else _status_history(rng, outcome)
        latest = self.now - timedelta(seconds=sum(gap for gap, _label, _status in history) + 60)
        if seed is not None:
            created_at = min(seed.start_at + timedelta(hours=rng.randint(1, 96)), latest)
        else:
            created_at = latest - timedelta(seconds=rng.randint(0, HISTORY_DAYS * 86400 // 2))
        company_pk = seed.contact.company_pk if seed else rng.choice(self.company_pks)
        tenant = {"organization_id": self.org_pk}
        changes, changed_at = [], created_at
        for gap, label, status in history:
            changed_at += timedelta(seconds=gap)
            changes.append({**tenant, "label": label, "status": status, "changed_at": changed_at})
        people = [seed.contact] if seed else []
        colleagues = self.contacts_by_company.get(company_pk, []) if company_pk else []
        for colleague in rng.sample(colleagues, k=min(len(colleagues), rng.randint(0, 2))):
            if colleague not in people:
                people.append(colleague)
        threads: list[int] = []
        if seed is not None:
            others = self.conversations_by_contact.get(seed.contact.pk, [])
            threads = [seed.conversation_pk]
            threads += [pk for pk in others if pk != seed.conversation_pk][: rng.randint(0, 1)]
        sale = {
            **tenant,
            "public_id": self.public_id("sal"),
            "is_draft": is_draft,
            "company_id": company_pk,
            "owner_id": seed.agent_pk if seed and seed.agent_pk else self._agent_pk(),
            "quote_details": _quote(rng),
            "custom_fields": {
                "lead_source": rng.choice(["website", "referral", "storm canvass", "repeat"]),
                "financing": rng.random() < 0.25,
            },
            "created_at": created_at,
            "last_activity_at": changed_at,
        }
        return sale, {
            SaleStatusChange: changes,
            SaleContact: [
                {**tenant, "contact_id": person.pk, "is_primary": position == 0}
                for position, person in enumerate(people)
            ],
            SaleConversation: [{**tenant, "conversation_id": pk} for pk in threads],
        }

    def _agent_pk(self) -> int | None:
        return self.rng.choice(self.agent_rows).pk if self.agent_rows else None


class _Thread:
    """One conversation and its messages, timed like a real inbox: most start with the
    contact writing in, an agent answers minutes to hours later (live chat: seconds), some
    are never answered, and some start with an agent reaching out, not all of which get a
    reply.

    The first few are fixed, so that every seed has an agent's unreplied reach-out and an
    unanswered contact (a message or two each), then each kind written in and answered: from
    six messages on, all three ways a conversation derives its response time. The first
    also opens the history, with the contact created first, so that the history is as long
    as the contacts'."""

    def __init__(self, seeder: _Seeder, number: int, *, budget: int) -> None:
        rng = seeder.rng
        self.seeder = seeder
        self.rng = rng
        self.contact = rng.choice(seeder.contact_rows)
        if number == 0 and seeder.longest_standing is not None:
            self.contact = seeder.longest_standing
        # Its kind, who starts it, and whether the other side ever speaks (silent: the
        # contact never answers an agent's reach-out, or no agent answers the contact).
        outbound: bool
        silent: bool
        if number == 0:  # an agent reaching out, with no reply
            kind, outbound, silent = rng.choice(OUTBOUND_KINDS), True, True
        elif number == 1:  # a contact writing in, never answered
            kind, outbound, silent = rng.choices(KINDS, KIND_WEIGHTS)[0], False, True
        elif number < 2 + len(KINDS):  # each kind, written in and answered
            kind, outbound, silent = KINDS[number - 2], False, False
        else:
            kind = rng.choices(KINDS, KIND_WEIGHTS)[0]
            outbound = kind in OUTBOUND_KINDS and rng.random() < 0.18
            silent = rng.random() < (0.3 if outbound else 0.15)
        self.kind = kind
        self.topic = rng.choice(content.TOPICS)
        count = min(budget, self._length(kind, silent))
        agent = rng.choice(seeder.agent_rows) if seeder.agent_rows else None
        if silent and not outbound and rng.random() < 0.5:
            agent = None
        self.agent = agent
        self.day = rng.choice(content.DAYS)

        # Who speaks when, as offsets in seconds from the first message. The second message
        # is the other side's (the first answer, or the reply), unless it is silent.
        turns: list[tuple[int, str]] = []
        offset, direction = 0, SENT if outbound else RECEIVED
        for position in range(count):
            if position:
                # Mostly taking turns, sometimes twice in a row.
                if not silent and (position == 1 or rng.random() < 0.85):
                    direction = SENT if direction == RECEIVED else RECEIVED
                offset += self._gap(kind, direction, first_answer=position == 1 and not outbound)
            turns.append((offset, direction))

        latest_start = seeder.now - timedelta(seconds=offset + 60)
        earliest = max(seeder.oldest, self.contact.created_at)
        if earliest >= latest_start:
            earliest = min(seeder.oldest, latest_start)
        # More recent days are busier: the business grew over the year.
        window = (latest_start - earliest).total_seconds()
        start_at = latest_start - timedelta(seconds=int(window * (1 - math.sqrt(rng.random()))))
        if number == 0:  # the first opens the history
            start_at = earliest
        business_hours = start_at.replace(hour=rng.randint(13, 23), minute=rng.randint(0, 59))
        if earliest <= business_hours <= latest_start:
            start_at = business_hours  # 8 am to 6 pm in the Americas

        self.links: list[tuple[Row, Row]] = []  # (message, its tracked link)
        self.messages: list[Row] = []
        previous_at = start_at
        for position, (offset, direction) in enumerate(turns):
            sent_at = start_at + timedelta(seconds=offset)
            self.messages.append(self._message(position, direction, sent_at, previous_at))
            previous_at = sent_at

        folder = rng.choices(FOLDER_SLUGS, FOLDER_WEIGHTS)[0]
        if self.topic.service == "Warranty claim" and rng.random() < 0.6:
            folder = "warranty-claims"
        elif outbound and rng.random() < 0.5:
            folder = "sales-follow-up"
        answered_last = bool(self.messages) and self.messages[-1]["direction"] == SENT
        old = seeder.now - start_at > timedelta(days=7)
        # Drawn whether or not it is old: how old it is depends on the clock, and the draws
        # that follow must not.
        read_anyway = rng.random() < 0.7
        self.conversation: Row = {
            "organization_id": seeder.org_pk,
            "public_id": seeder.public_id("cnv"),
            "contact_id": self.contact.pk,
            "agent_id": agent.pk if agent else None,
            "folder": folder,
            "is_read": answered_last or (old and read_anyway),
            "start_at": start_at,
            # Until conversations_touch derives it from the messages, with the rest.
            "last_activity_at": start_at,
        }

    def _length(self, kind: Modality, silent: bool) -> int:
        rng = self.rng
        if silent:  # a message, sometimes a follow-up
            return rng.choice([1, 1, 1, 2])
        low, high = {
            Modality.EMAIL: (2, 12),
            Modality.TEXT: (2, 14),
            Modality.CALL: (1, 4),
            Modality.LIVE_CHAT: (4, 16),
            Modality.FORM: (2, 7),
        }[kind]
        return rng.randint(low, high)

    def _gap(self, kind: str, direction: str, *, first_answer: bool) -> int:
        """Seconds before the next message."""
        rng = self.rng
        if kind == Modality.LIVE_CHAT:
            return rng.randint(8, 150)
        if direction == SENT:  # an agent answering: minutes to hours, first answers faster
            median = 35 * 60 if first_answer else 3 * 3600
            if kind == Modality.TEXT:
                median //= 4
        else:  # the contact coming back: hours to days
            median = 6 * 3600 if kind != Modality.TEXT else 40 * 60
        return max(30, min(int(rng.lognormvariate(math.log(median), 1.1)), 10 * 86400))

    def _modality(self, position: int) -> str:
        if position == 0 or self.kind in (Modality.EMAIL, Modality.TEXT, Modality.LIVE_CHAT):
            return self.kind
        # Calls and web forms are followed up by email, text or another call.
        return self.rng.choices([Modality.EMAIL, Modality.TEXT, Modality.CALL], [5, 4, 1])[0]

    def _message(
        self, position: int, direction: str, sent_at: datetime, previous_at: datetime
    ) -> Row:
        rng, seeder, contact, agent = self.rng, self.seeder, self.contact, self.agent
        modality = self._modality(position)
        if direction == SENT and agent is None:
            agent = rng.choice(seeder.agent_rows) if seeder.agent_rows else None
        words = {
            "first": contact.first_name,
            "agent": agent.name.split()[0] if agent else "The team",
            "day": self.day,
            "question": self.topic.question,
            "link": "{link}",
        }
        message: Row = {
            **MESSAGE_DEFAULTS,
            "organization_id": seeder.org_pk,
            "public_id": seeder.public_id("msg"),
            "agent_id": agent.pk if agent and direction == SENT else None,
            "modality": modality,
            "direction": direction,
            "sent_at": sent_at,
        }
        if modality == Modality.EMAIL:
            self._email(message, position, words)
        elif modality == Modality.TEXT:
            pool = content.TEXT_SENT if direction == SENT else content.TEXT_RECEIVED
            message["content"] = rng.choice(pool).format(**words)
        elif modality == Modality.LIVE_CHAT:
            pool = content.CHAT_AGENT if direction == SENT else content.CHAT_VISITOR
            message["content"] = pool[min(position // 2, len(pool) - 1)].format(**words)
        elif modality == Modality.CALL:
            choice = rng.randrange(len(content.CALL_TRANSCRIPTS))
            # A voicemail the contact left, on the contact's turn only: who speaks when is
            # the turns' (an agent's turn drawing it has a call the agent placed instead).
            if choice == content.VOICEMAIL and direction == RECEIVED:
                message["call_duration"] = rng.randint(15, 60)
            else:
                # The transcript of a call the agent placed, or of one the contact placed.
                if (direction == SENT) != (choice in content.AGENT_PLACED_CALLS):
                    choice = next(
                        number
                        for number in range(len(content.CALL_TRANSCRIPTS))
                        if number != content.VOICEMAIL
                        and (number in content.AGENT_PLACED_CALLS) == (direction == SENT)
                    )
                message["call_duration"] = rng.randint(45, 1500)
            message["content"] = content.CALL_SUMMARIES[choice]
            message["call_transcript"] = content.CALL_TRANSCRIPTS[choice].format(**words)
        else:
            self._form(message)
        text = message["content"]
        if text and "{link}" in text:
            url = (
                f"https://{seeder.slug}.example/{rng.choice(content.LINK_PATHS)}"
                f"?t={rng.getrandbits(48):012x}"
            )
            message["content"] = text.replace("{link}", url)
            link = {
                "organization_id": seeder.org_pk,
                "public_id": seeder.public_id("lnk"),
                "url": url,
                "click_count": 0 if rng.random() < 0.4 else rng.randint(1, 12),
            }
            self.links.append((message, link))
        waited = int((sent_at - previous_at).total_seconds())
        if (
            direction == SENT
            and modality in (Modality.EMAIL, Modality.TEXT)
            and waited > 120
            and rng.random() < 0.35
        ):
            # Drafted after the contact wrote, sent after a review.
            message["drafted_at"] = sent_at - timedelta(seconds=rng.randint(60, min(waited, 3600)))
        return message

    def _email(self, message: Row, position: int, words: dict[str, str]) -> None:
        rng, seeder, contact = self.rng, self.seeder, self.contact
        sent = message["direction"] == SENT
        if position == 0 and sent:
            subject, body = rng.choice(content.OUTBOUND_EMAILS)
        elif position == 0:
            subject, body = self.topic.subject, self.topic.opening
        else:
            subject = f"Re: {self.topic.subject}"
            body = rng.choice(content.EMAIL_REPLIES if sent else content.EMAIL_FOLLOW_UPS)
        message["subject"] = subject
        message["content"] = body.format(**words)
        host = f"mail.{seeder.slug}.example" if sent else "example.com"
        message["email_message_id"] = f"<{rng.getrandbits(64):016x}@{host}>"
        if rng.random() < 0.15:
            colleague = rng.choice(content.FIRST).lower()
            message["cc_emails"] = [f"{colleague}.{contact.pk}@example.com"]
        if sent and rng.random() < 0.08:
            message["bcc_emails"] = [f"records@{seeder.slug}.example"]

    def _form(self, message: Row) -> None:
        rng, contact, service = self.rng, self.contact, self.topic.service
        message["subject"] = f"Website form: {service}"
        message["content"] = f"New {service.lower()} request from {contact.first_name}"
        message["form_request_body"] = {
            "name": contact.first_name,
            "email": contact.email,
            "phone": f"+1555{rng.randint(0, 9999999):07d}",
            "service": service,
            "address": f"{rng.randint(1, 999)} {rng.choice(content.STREETS)}, Springfield",
            "message": rng.choice(content.FORM_MESSAGES),
            "preferred_contact": rng.choice(["email", "phone", "text"]),
            "consent_to_contact": True,
        }


def _status_history(rng: random.Random, outcome: str | None) -> list[tuple[int, str, str | None]]:
    """(seconds after the previous change, label, status), oldest first."""
    history: list[tuple[int, str, str | None]] = [(0, "Quote sent", SaleStatus.QUOTE_SENT)]
    if outcome is None or (outcome != SaleStatus.QUOTE_SENT and rng.random() < 0.5):
        history.append((rng.randint(3600, 5 * 86400), rng.choice(content.CUSTOM_STAGES), None))
    if outcome is not None and outcome != SaleStatus.QUOTE_SENT:
        history.append((rng.randint(3600, 20 * 86400), SaleStatus(outcome).label, outcome))
    return history


def _quote(rng: random.Random) -> dict[str, Any]:
    products, total = [], Decimal(0)
    for product in rng.sample(content.PRODUCTS, k=rng.randint(1, 3)):
        if "per square" in product.name:
            quantity = rng.randint(12, 32)
        elif "per " in product.name:
            quantity = rng.randint(2, 16)
        else:
            quantity = 1
        unit_price = Decimal(product.unit_price)
        total += quantity * unit_price
        products.append(
            {"quantity": quantity, "unit_price": f"{unit_price:.2f}", "product_name": product.name}
        )
    return {
        "output": {"currency": "USD", "total_price": f"{total:.2f}"},
        "arguments": {"products": products},
        "agent_overrides": {},
    }


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while batch := list(islice(rows, size)):
        yield batch
