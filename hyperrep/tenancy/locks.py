"""Making concurrent writers of one organization take turns over one key.

A find-or-create that is not unique by a constraint (contacts are not unique by email:
imports carry duplicates) races: two requests both find nothing and both create. Holding a
lock named by the organization and the normalized key for the rest of the transaction makes
the second wait and then find the first one's row.
"""

import hashlib
from typing import Any

from django.db import connection


def take_turns(organization: Any, key: str) -> None:
    """Until the current transaction ends, callers with the same organization (an
    Organization or its primary key) and key run one at a time. On PostgreSQL that is a
    transaction-scoped advisory lock; on SQLite every writing transaction already holds the
    database's one write lock from its start (IMMEDIATE transactions, hyperrep/settings.py)."""
    if not connection.in_atomic_block:
        raise RuntimeError("take_turns() holds its lock until the transaction ends: open one")
    if connection.vendor != "postgresql":
        return
    organization_pk = getattr(organization, "pk", organization)
    name = f"hyperrep:{organization_pk}:{key}".encode()
    lock_id = int.from_bytes(hashlib.blake2b(name, digest_size=8).digest(), "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])
