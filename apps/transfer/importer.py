"""`import_data`: a JSON Lines file into the database, in one transaction or not at all.

The file streams through line by line. Each line is checked by records.py; the rows wait in
a batch per type and go in with one `INSERT ... ON CONFLICT (organization_id, public_id) DO
UPDATE` per batch (writes.py), so an id that exists is updated and a re-import changes
nothing; a batch's children (tracked links; a sale's contacts, conversations and history)
are deleted and inserted again from the lines. What
stays in memory is the public id -> primary key map of each referenceable type (agents,
companies, contacts, conversations; never messages), the conversations to recompute, and one
batch per type.

A line may reference a row of an earlier line that still waits in its batch: that batch is
written first, so the reference has its key. In a file in export order this happens once per
type; any order that references only earlier lines works, only in smaller batches.
"""

import json
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, models, transaction

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Message, TrackedLink
from apps.conversations.services import conversations_touch
from apps.organizations.models import Organization
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatusChange
from apps.transfer import records, writes
from apps.transfer.records import BadRecord, Record, SaleChildren
from apps.webhooks.events import emit, subscribers
from hyperrep import ids
from hyperrep.api.serializers import format_datetime

# The order a file must follow for its references to resolve, which export_data writes.
KINDS = ("organization", "agent", "company", "contact", "conversation", "message", "sale")
MODELS: dict[str, type[models.Model]] = {
    "agent": Agent,
    "company": Company,
    "contact": Contact,
    "conversation": Conversation,
    "message": Message,
    "sale": Sale,
}
# The event a row the import creates is (apps/webhooks); a row it updates is none. Messages:
# received ones only (a sent one was delivered elsewhere, before).
CREATED_EVENTS = {
    "company": "company.created",
    "contact": "contact.created",
    "conversation": "conversation.created",
    "message": "message.received",
}
# The types other lines reference: the only ones whose ids are kept in memory.
REFERENCED = frozenset({"agent", "company", "contact", "conversation"})
BATCH_SIZE = 2000
# Rows a query names by primary key at once: under every backend's parameter limit.
KEYS_PER_QUERY = 2000


def _update_fields(model: type[models.Model]) -> list[str]:
    """Every column the line sets: all but the key, the tenant and the public id (and an
    agent's created_at, which its line does not carry)."""
    return [
        field.name
        for field in model._meta.concrete_fields
        if not field.primary_key
        and field.name not in ("organization", "public_id")
        and not (model is Agent and field.name == "created_at")
    ]


UPDATE_FIELDS = {kind: _update_fields(model) for kind, model in MODELS.items()}


class ImportFailed(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(slots=True)
class Pending:
    line: int
    organization: int
    record: Record


def import_lines(lines: Iterable[bytes]) -> Counter[str]:
    """Import the file's lines (bytes, as read from a binary file); the number of lines of
    each type. Raises ImportFailed, and writes nothing, when a line is bad."""
    importer = Importer()
    with transaction.atomic():
        importer.run(lines)
    return importer.counts


class Importer:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.organizations: dict[str, int] = {}
        # (organization pk, kind) -> public id -> pk, or the Record still waiting in its batch
        self.references: dict[tuple[int, str], dict[str, int | Record]] = {}
        self.pending: dict[str, dict[tuple[int, str], Pending]] = {kind: {} for kind in MODELS}
        self.touched_conversations: set[int] = set()
        # conversation pk -> (line, last_activity_at as the line states it)
        self.stated_activity: dict[int, tuple[int, datetime]] = {}
        # organization pk -> whether it had messages before the file's first message line
        self.had_messages: dict[int, bool] = {}
        self.analyzed = False
        self.line = 0
        self.organization = 0
        # (organization pk, event type) -> whether an endpoint subscribes; -> rows created
        self.subscribed: dict[tuple[int, str], bool] = {}
        self.created: dict[tuple[int, str], list[int]] = {}

    def run(self, lines: Iterable[bytes]) -> None:
        for self.line, raw in enumerate(lines, 1):
            try:
                self._read(raw)
            except BadRecord as bad:
                raise ImportFailed(self.line, str(bad)) from None
        for kind in MODELS:
            self._flush(kind)
        self._touch_conversations()
        self._emit_created()

    # -- one line -----------------------------------------------------------------------------

    def _read(self, raw: bytes) -> None:
        line = _parse(raw, first=self.line == 1)
        if line is None:
            return
        kind = line.get("type")
        if "type" not in line:
            raise BadRecord('missing field "type"')
        if kind not in KINDS:
            raise BadRecord(f"unknown type {records.show(kind)}")
        self.counts[kind] += 1
        if kind == "organization":
            self._organization(line)
            return
        if "organization_id" not in line:
            raise BadRecord('missing field "organization_id"')
        self.organization = self._organization_pk(line["organization_id"])
        if kind == "message" and self.organization not in self.had_messages:
            self._first_message_line()
        record = records.READERS[kind](line, self._resolve)
        key = (self.organization, record.public_id)
        # A second line with the same id replaces the first while both wait in the batch
        # (one INSERT cannot update a row twice); across batches the later one updates.
        self.pending[kind][key] = Pending(self.line, self.organization, record)
        if kind in REFERENCED:
            self._references(self.organization, kind)[record.public_id] = record
        if len(self.pending[kind]) >= BATCH_SIZE:
            self._flush(kind)

    def _first_message_line(self) -> None:
        had = Message.objects.for_org(self.organization).exists()
        self.had_messages[self.organization] = had
        if had and connection.vendor == "postgresql" and not self.analyzed:
            # A re-import looks messages up by (organization, public_id) and links by
            # message. Right after a large import the statistics still describe the tables
            # before it, and the planner then reads every row of the organization for each
            # batch (0.9 s a batch at a million messages) instead of probing the index.
            with connection.cursor() as cursor:
                for model in (Message, TrackedLink):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            self.analyzed = True

    def _organization(self, line: dict[str, Any]) -> None:
        public_id, name = records.read_organization(line)
        organization = Organization.objects.filter(public_id=public_id).first()
        if organization is None:
            organization = Organization.objects.create(public_id=public_id, name=name)
        elif organization.name != name:
            organization.name = name
            organization.save(update_fields=["name"])
        self.organizations[public_id] = organization.pk

    def _organization_pk(self, public_id: Any) -> int:
        pk = self.organizations.get(public_id) if isinstance(public_id, str) else None
        if pk is not None:
            return pk
        if not ids.can_be_valid(public_id, "org"):
            raise BadRecord(
                f"bad value: organization_id {records.show(public_id)} cannot be the id of "
                "an organization"
            )
        pk = Organization.objects.filter(public_id=public_id).values_list("pk", flat=True).first()
        if pk is None:
            raise BadRecord(
                f"bad reference: organization_id {records.show(public_id)} is not an "
                "organization of an earlier line or of the database"
            )
        self.organizations[public_id] = pk
        return pk

    def _references(self, organization: int, kind: str) -> dict[str, int | Record]:
        """The organization's ids of this type, read from the database the first time."""
        known = self.references.get((organization, kind))
        if known is None:
            rows = MODELS[kind].objects.for_org(organization)  # type: ignore[attr-defined]
            known = dict(rows.values_list("public_id", "pk").iterator(chunk_size=10_000))
            self.references[(organization, kind)] = known
        return known

    def _resolve(self, kind: str, public_id: str, key: str) -> int:
        """The key of the row of `kind` with this id in the line's organization."""
        known = self._references(self.organization, kind)
        target = known.get(public_id)
        if target is None:
            raise BadRecord(
                f"bad reference: {key} {records.show(public_id)} is not a {kind} of "
                "this organization on an earlier line or in the database"
            )
        if not isinstance(target, int):  # still waiting in its batch
            self._flush(kind)
            target = known[public_id]
        return target  # type: ignore[return-value]

    # -- batches ------------------------------------------------------------------------------

    def _flush(self, kind: str) -> None:
        batch = self.pending[kind]
        if not batch:
            return
        self.pending[kind] = {}
        items = list(batch.values())
        if kind == "message":
            # A message that moves to another conversation leaves its old one to recompute.
            # Only rows that existed before the file can have moved from a conversation the
            # file did not touch, so an organization without messages skips the query.
            self.touched_conversations.update(self._current_conversations(batch))
        rows = []
        for item in items:
            row = item.record.values
            row["organization_id"] = item.organization
            row["public_id"] = item.record.public_id
            rows.append(row)
        existing = self._existing_if_watched(kind, items)
        written = writes.upsert(MODELS[kind], rows, UPDATE_FIELDS[kind])
        pks = [pk for pk, _ in written]
        self._note_created(kind, items, pks, existing)
        # Only rows that existed can have children to replace.
        existed = [pk for pk, new in written if not new]
        if kind in REFERENCED:
            for pk, item in zip(pks, items, strict=True):
                self._references(item.organization, kind)[item.record.public_id] = pk
        if kind == "conversation":
            self._note_conversations(pks, items)
        elif kind == "message":
            self.touched_conversations.update(row["conversation_id"] for row in rows)
            self._write_links(pks, existed, items)
        elif kind == "sale":
            self._write_sale_children(pks, existed, items)

    # -- events -------------------------------------------------------------------------------

    def _watched(self, organization: int, event: str) -> bool:
        key = (organization, event)
        if key not in self.subscribed:
            self.subscribed[key] = bool(subscribers(organization, event))
        return self.subscribed[key]

    def _existing_if_watched(self, kind: str, items: list[Pending]) -> set[tuple[int, str]] | None:
        """The (organization, public id) of the batch's rows that exist already, where an
        endpoint subscribes to their creation (one query an organization); None: none does."""
        event = CREATED_EVENTS.get(kind)
        if event is None:
            return None
        by_organization: dict[int, list[str]] = {}
        for item in items:
            if self._watched(item.organization, event):
                by_organization.setdefault(item.organization, []).append(item.record.public_id)
        if not by_organization:
            return None
        existing: set[tuple[int, str]] = set()
        for organization, public_ids in by_organization.items():
            rows = MODELS[kind].objects.for_org(organization)  # type: ignore[attr-defined]
            found = rows.filter(public_id__in=public_ids).values_list("public_id", flat=True)
            existing.update((organization, public_id) for public_id in found)
        return existing

    def _note_created(
        self,
        kind: str,
        items: list[Pending],
        pks: list[int],
        existing: set[tuple[int, str]] | None,
    ) -> None:
        if existing is None:
            return
        event = CREATED_EVENTS[kind]
        for pk, item in zip(pks, items, strict=True):
            if not self._watched(item.organization, event):
                continue
            if (item.organization, item.record.public_id) in existing:
                continue
            if kind == "message" and item.record.values.get("direction") != "received":
                continue
            self.created.setdefault((item.organization, event), []).append(pk)

    def _emit_created(self) -> None:
        """The events of the rows the file created, once their conversations are touched."""
        kinds = {event: kind for kind, event in CREATED_EVENTS.items()}
        for (organization_pk, event), pks in self.created.items():
            organization = Organization.objects.get(pk=organization_pk)
            rows = MODELS[kinds[event]].objects.for_org(organization)  # type: ignore[attr-defined]
            for start in range(0, len(pks), KEYS_PER_QUERY):
                emit(organization, event, *rows.filter(pk__in=pks[start : start + KEYS_PER_QUERY]))

    def _current_conversations(self, batch: dict[tuple[int, str], Pending]) -> set[int]:
        by_organization: dict[int, list[str]] = {}
        for organization, public_id in batch:
            if self.had_messages[organization]:
                by_organization.setdefault(organization, []).append(public_id)
        current: set[int] = set()
        for organization, public_ids in by_organization.items():
            current.update(
                Message.objects.for_org(organization)
                .filter(public_id__in=public_ids)
                .values_list("conversation_id", flat=True)
                .distinct()
            )
        return current

    def _note_conversations(self, pks: list[int], items: list[Pending]) -> None:
        for pk, item in zip(pks, items, strict=True):
            self.touched_conversations.add(pk)
            stated = item.record.stated_last_activity_at
            if stated is None:
                self.stated_activity.pop(pk, None)
            else:
                self.stated_activity[pk] = (item.line, stated)

    def _write_links(self, pks: list[int], existed: list[int], items: list[Pending]) -> None:
        """A message's tracked links become exactly its line's."""
        _delete_children(TrackedLink, "message_id", existed)
        links = []
        owner: dict[tuple[int, str], int] = {}  # (organization, link id) -> line
        for pk, item in zip(pks, items, strict=True):
            for link_id, url, click_count in item.record.children:
                if (item.organization, link_id) in owner:
                    raise ImportFailed(
                        item.line,
                        f"bad value: link_id {records.show(link_id)} is already a tracked "
                        f"link of the message on line {owner[(item.organization, link_id)]}",
                    )
                owner[(item.organization, link_id)] = item.line
                links.append(
                    {
                        "organization_id": item.organization,
                        "message_id": pk,
                        "public_id": link_id,
                        "url": url,
                        "click_count": click_count,
                    }
                )
        try:
            with transaction.atomic():  # a savepoint, so that the query below can still run
                writes.insert(TrackedLink, links)
        except IntegrityError:
            # The links of this batch's messages were deleted above, so a link id that is
            # still taken belongs to another message of the organization.
            self._report_taken_links(owner)
            raise

    def _report_taken_links(self, owner: dict[tuple[int, str], int]) -> None:
        taken: list[tuple[int, str, str]] = []
        by_organization: dict[int, list[str]] = {}
        for organization, link_id in owner:
            by_organization.setdefault(organization, []).append(link_id)
        for organization, link_ids in by_organization.items():
            taken += (
                TrackedLink.objects.for_org(organization)
                .filter(public_id__in=link_ids)
                .values_list("organization_id", "public_id", "message__public_id")
            )
        if taken:
            organization, link_id, message_id = min(taken, key=lambda row: owner[row[:2]])
            raise ImportFailed(
                owner[(organization, link_id)],
                f"bad value: link_id {records.show(link_id)} is a tracked link of another "
                f"message ({records.show(message_id)})",
            )

    def _write_sale_children(
        self, pks: list[int], existed: list[int], items: list[Pending]
    ) -> None:
        """A sale's contacts, conversations and status history become exactly its line's."""
        for model in (SaleContact, SaleConversation, SaleStatusChange):
            _delete_children(model, "sale_id", existed)
        contacts, conversations, history = [], [], []
        for sale, item in zip(pks, items, strict=True):
            children: SaleChildren = item.record.children
            parent = {"organization_id": item.organization, "sale_id": sale}
            contacts += [
                {**parent, "contact_id": contact, "is_primary": is_primary}
                for contact, is_primary in children.contacts
            ]
            conversations += [
                {**parent, "conversation_id": conversation}
                for conversation in children.conversations
            ]
            history += [
                {**parent, "label": label, "status": status, "changed_at": changed_at}
                for label, status, changed_at in children.history
            ]
        writes.insert(SaleContact, contacts)
        writes.insert(SaleConversation, conversations)
        writes.insert(SaleStatusChange, history)

    # -- the end of the file ------------------------------------------------------------------

    def _touch_conversations(self) -> None:
        """last_activity_at of every conversation the file wrote or moved messages in, then
        the check of the values lines stated."""
        # A file may hold several organizations: these are its own rows, by primary key.
        conversations = Conversation.objects.unscoped()
        touched = sorted(self.touched_conversations)
        for start in range(0, len(touched), KEYS_PER_QUERY):
            conversations_touch(
                conversations.filter(pk__in=touched[start : start + KEYS_PER_QUERY])
            )
        stated = sorted(self.stated_activity.items(), key=lambda item: item[1][0])
        for start in range(0, len(stated), KEYS_PER_QUERY):
            chunk = dict(stated[start : start + KEYS_PER_QUERY])
            actual = dict(conversations.filter(pk__in=chunk).values_list("pk", "last_activity_at"))
            for pk, (line, value) in chunk.items():  # in line order: the first bad line
                if actual[pk] != value:
                    raise ImportFailed(
                        line,
                        f"bad value: last_activity_at {format_datetime(value)} is not the "
                        f"latest sent_at of the conversation's messages, else its start_at "
                        f"({format_datetime(actual[pk])})",
                    )


def _delete_children(model: type[models.Model], parent: str, pks: list[int]) -> None:
    for start in range(0, len(pks), KEYS_PER_QUERY):
        # Nothing references these rows, so Django deletes them in one DELETE. The parents are
        # the file's own rows, by primary key, in whichever organizations the file names.
        children = model.objects.unscoped()  # type: ignore[attr-defined]
        children.filter(**{f"{parent}__in": pks[start : start + KEYS_PER_QUERY]}).delete()


# -- JSON -------------------------------------------------------------------------------------


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: no column or JSON document can hold it
        raise ValueError(f"{text} is out of range")
    return value


def _parse(raw: bytes, *, first: bool) -> dict[str, Any] | None:
    """The line's object; None for a blank line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRecord(f"invalid UTF-8 at byte {error.start + 1}") from None
    if first:
        text = text.removeprefix("\ufeff")
    if not text.strip():
        return None
    try:
        line = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise BadRecord("invalid JSON: nested too deeply") from None
    except ValueError as error:  # JSONDecodeError included
        raise BadRecord(f"invalid JSON: {error}") from None
    if type(line) is not dict:
        raise BadRecord("invalid JSON: a line must be one JSON object")
    if "\\u" in text:
        _check_text(line)
    return line


def _check_text(document: Any) -> None:
    """Refuse NUL characters and lone surrogates, which no database text can hold (the API's
    parser refuses them too). Only a \\u escape can put them in a string, so lines without
    one skip this walk; it is not hyperrep.api.parsers.check_structure because that also
    walks for depth, about 20 us a line, which at a million lines is most of a minute."""
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise BadRecord("bad value: NUL characters are not allowed")
            if not value.isascii():
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise BadRecord("bad value: strings must be valid Unicode text") from None
        elif isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
