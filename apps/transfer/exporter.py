"""`export_data`: one organization as JSON Lines that `import_data` reads back.

Each line is the API's own rendering of the row: the resource's selector and OutputSerializer,
the ones its routes use, plus `"type"` and `"organization_id"`. The types come in the order
their references need (organization, agents, companies, contacts, conversations, messages,
sales) and each type by internal id, which an import into an empty database assigns in file
order: so export -> import -> export gives the same bytes. Rows stream from the database in
chunks (prefetches included), so a million messages never sit in memory at once, and from one
snapshot of the database.
"""

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.db import connection, transaction

from apps.agents.selectors import agent_list
from apps.agents.serializers import AgentSerializer
from apps.companies.selectors import company_list
from apps.companies.serializers import CompanySerializer
from apps.contacts.selectors import contact_list
from apps.contacts.serializers import ContactSerializer
from apps.conversations.selectors import conversation_list, message_list
from apps.conversations.serializers import ConversationSerializer, MessageSerializer
from apps.organizations.models import Organization
from apps.organizations.serializers import OrganizationSerializer
from apps.sales.selectors import sale_records
from apps.sales.serializers import SaleSerializer
from hyperrep.api.serializers import OutputSerializer
from hyperrep.tenancy.models import TenantQuerySet

CHUNK_SIZE = 2000

# type -> (selector, serializer), in the order an import needs them.
SECTIONS: tuple[tuple[str, Callable[..., TenantQuerySet], type[OutputSerializer]], ...] = (
    ("agent", agent_list, AgentSerializer),
    ("company", company_list, CompanySerializer),
    ("contact", contact_list, ContactSerializer),
    ("conversation", conversation_list, ConversationSerializer),
    ("message", message_list, MessageSerializer),
    # sale_records, not sale_list: draft sales are exported too, marked "is_draft": true.
    ("sale", sale_records, SaleSerializer),
)


def dumps(obj: dict[str, Any]) -> str:
    """One line's bytes, always the same for the same data."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def export_lines(organization: Organization) -> Iterator[str]:
    """The organization's lines, without their newlines, all read in one transaction: rows
    written while the file streams (a message in a conversation already exported without it)
    cannot make it inconsistent."""
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            # One snapshot for every query (READ COMMITTED takes one per statement). SQLite's
            # read transaction is one snapshot already.
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield from _lines(organization)


def _lines(organization: Organization) -> Iterator[str]:
    yield dumps(
        {"type": "organization", **OrganizationSerializer().to_representation(organization)}
    )
    org_id = organization.public_id
    for kind, selector, serializer_class in SECTIONS:
        # One serializer renders every row: its compiled plan is built once.
        render = serializer_class().to_representation
        rows = selector(organization=organization).order_by("id").iterator(chunk_size=CHUNK_SIZE)
        for row in rows:
            line = {"type": kind, "organization_id": org_id, **render(row)}
            if kind == "sale" and row.is_draft:
                line["is_draft"] = True
            yield dumps(line)
