"""JSON columns give their objects back in one key order (PostgreSQL's jsonb order) on every
database, so the same row renders the same bytes on SQLite and PostgreSQL (CI runs this file
on both), and an export from one imports into the other and exports back identical."""

import json
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection

from apps.contacts.models import Contact
from hyperrep.frozen import reorder_json_2026_11
from hyperrep.jsonb import canonical
from tests.helpers import Api

pytestmark = pytest.mark.django_db

WRITTEN = {"zeta_long": 1, "b": {"yy": 1, "x": [{"long_key": 1, "k": 2}]}, "a": 3, "ab": 4}
JSONB_ORDER = ["a", "b", "ab", "zeta_long"]


def test_canonical_orders_keys_shortest_first_then_bytewise_at_every_depth() -> None:
    assert list(canonical(WRITTEN)) == JSONB_ORDER
    assert list(canonical(WRITTEN)["b"]) == ["x", "yy"]
    assert list(canonical(WRITTEN)["b"]["x"][0]) == ["k", "long_key"]
    assert list(canonical({"é": 1, "z": 2, "aa": 3})) == ["z", "aa", "é"]  # bytes, not chars


def test_the_created_row_and_its_reads_give_the_same_bytes(api: Api, org_path: str) -> None:
    flat = {"zeta_long": 1, "b": "x", "a": 3, "ab": True}  # custom fields are flat
    created = api.post(f"{org_path}/contacts", {"name": "Ann", "custom_fields": flat})
    assert created.status_code == 200, created.content
    fields: dict[str, Any] = json.loads(created.content)["custom_fields"]
    assert list(fields) == JSONB_ORDER
    read = api.get(f"{org_path}/contacts/{json.loads(created.content)['contact_id']}")
    assert json.loads(read.content)["custom_fields"] == fields
    assert list(json.loads(read.content)["custom_fields"]) == JSONB_ORDER


def test_queryset_updates_write_the_same_order(organization: Any) -> None:
    contact = Contact.objects.create(organization=organization, name="Bo")
    Contact.objects.unscoped().filter(pk=contact.pk).update(custom_fields={"zeta_long": 1, "a": 2})
    contact.refresh_from_db()
    assert list(contact.custom_fields) == ["a", "zeta_long"]


def test_canonical_takes_any_depth_json_can_and_string_keys_as_django_writes_them() -> None:
    deep: dict[str, Any] = {}
    inner = deep
    for _ in range(900):
        inner["k"] = {"zz": 1, "a": 2}
        inner = inner["k"]
    assert canonical(deep)["k"]["k"] == {"a": 2, "k": canonical(deep)["k"]["k"]["k"], "zz": 1}
    assert canonical({2: "x", "a": 1}) == {"2": "x", "a": 1}


def test_rows_stored_before_in_another_order_are_rewritten_by_the_migration(
    organization: Any,
) -> None:
    contact = Contact.objects.create(organization=organization, name="Cy")
    with connection.cursor() as cursor:  # as SQLite stored it before: in the order written
        cursor.execute(
            "UPDATE contacts_contact SET custom_fields = %s WHERE id = %s",
            ['{"zeta_long": 1, "a": 2}', contact.pk],
        )
    editor = SimpleNamespace(connection=connection)  # all the migration reads of its editor
    forwards: Any = reorder_json_2026_11("contacts.Contact", "custom_fields").code
    forwards(django_apps, editor)
    contact.refresh_from_db()
    assert list(contact.custom_fields) == ["a", "zeta_long"]
