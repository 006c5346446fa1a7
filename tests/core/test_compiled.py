"""Compiled queries (hyperrep/compiled.py): the queryset's SQL and rows, compiled once per
connection, refused when a value would not go into the SQL as it is."""

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from apps.contacts.models import Contact
from apps.keys.models import ApiKey
from apps.organizations.models import Organization
from hyperrep.compiled import CompiledQuery
from hyperrep.tenancy.models import UnscopedQuery
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db(transaction=True)  # a second thread's connection sees rows

COLUMNS = ("public_id", "name", "email", "custom_fields", "created_at")


def contacts_named(organization: Organization) -> CompiledQuery:
    return CompiledQuery(
        lambda name, email: (
            Contact.objects.for_org(organization)
            .filter(name=name, email=email)
            .order_by("id")
            .values_list(*COLUMNS)
        )
    )


@pytest.fixture
def contacts(organization: Organization) -> list[Contact]:
    created = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    return [
        ContactFactory.create(
            organization=organization,
            name="Ann",
            email=email,
            custom_fields={"tier": number, "tags": ["a"]},
            created_at=created,
        )
        for number, email in enumerate(["ann@example.com", "ann@example.com", "x@example.com"])
    ]


def test_rows_and_sql_are_the_querysets(organization: Organization, contacts: Any) -> None:
    queryset = (
        Contact.objects.for_org(organization)
        .filter(name="Ann", email="ann@example.com")
        .order_by("id")
        .values_list(*COLUMNS)
    )
    with CaptureQueriesContext(connection) as expected_queries:
        expected = list(queryset)
    compiled = contacts_named(organization)
    with CaptureQueriesContext(connection) as queries:
        found = compiled.rows(name="Ann", email="ann@example.com")
    assert found == expected
    assert len(found) == 2
    assert found[0][3] == {"tier": 0, "tags": ["a"]}  # JSON parsed
    assert found[0][4] == datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)  # SQLite too
    assert [q["sql"] for q in queries] == [q["sql"] for q in expected_queries]


def test_each_call_sends_its_own_values(organization: Organization, contacts: Any) -> None:
    compiled = contacts_named(organization)
    assert len(compiled.rows(name="Ann", email="ann@example.com")) == 2
    assert [row[2] for row in compiled.rows(name="Ann", email="x@example.com")] == ["x@example.com"]
    assert compiled.rows(name="Bob", email="x@example.com") == []
    # A value that looks like SQL is a value.
    assert compiled.rows(name="Ann' OR '1'='1", email="x@example.com") == []


def test_the_queryset_is_built_once_per_connection(organization: Organization) -> None:
    built: list[str] = []

    def build(prefix: str) -> Any:
        built.append(threading.current_thread().name)
        return ApiKey.objects.filter(prefix=prefix, is_active=True).values_list("id")

    compiled = CompiledQuery(build)
    for _ in range(3):
        assert compiled.rows(prefix="nope") == []
    assert len(built) == 1

    def elsewhere() -> None:  # another thread: another connection, compiled for it
        try:
            compiled.rows(prefix="nope")
        finally:
            connections.close_all()

    thread = threading.Thread(target=elsewhere, name="other")
    thread.start()
    thread.join()
    assert built == ["MainThread", "other"]


def test_a_value_the_orm_rewrites_is_refused() -> None:
    compiled = CompiledQuery(lambda name: ApiKey.objects.filter(name__contains=name).values("id"))
    with pytest.raises(TypeError, match=r"\['name'\]"):
        compiled.rows(name="x")


def test_the_values_are_the_builders_parameters() -> None:
    compiled = CompiledQuery(lambda prefix: ApiKey.objects.filter(prefix=prefix).values("id"))
    with pytest.raises(TypeError, match="prefix"):
        compiled.rows(name="x")


def test_a_tenant_query_still_names_its_organization() -> None:
    compiled = CompiledQuery(lambda name: Contact.objects.filter(name=name).values_list("id"))
    with pytest.raises(UnscopedQuery):
        compiled.rows(name="Ann")


def test_int_values_and_model_instances(organization: Organization, contacts: Any) -> None:
    def build(organization: int, email: str) -> Any:
        return Contact.objects.for_org(organization).filter(email=email).order_by("id")

    compiled = CompiledQuery(build)
    found = compiled.instances(organization=organization.pk, email="ann@example.com")
    assert found == contacts[:2]
    assert [c.custom_fields for c in found] == [c.custom_fields for c in contacts[:2]]
    assert found[0].created_at == contacts[0].created_at
    assert not found[0]._state.adding
    assert found[0]._state.db == "default"
    assert compiled.instances(organization=organization.pk + 1, email="ann@example.com") == []
    with pytest.raises(TypeError, match="rows"):
        contacts_named(organization).instances(name="Ann", email="ann@example.com")


def test_a_value_of_another_type_than_its_marker_is_refused(organization: Organization) -> None:
    def build(organization: int, email: str) -> Any:
        return Contact.objects.for_org(organization).filter(email=email)

    compiled = CompiledQuery(build)
    with pytest.raises(TypeError, match="organization is int, not '1'"):
        compiled.instances(organization="1", email="ann@example.com")
    with pytest.raises(TypeError, match="email is str, not None"):
        compiled.instances(organization=organization.pk, email=None)


def test_using_is_the_database_not_a_value() -> None:
    with pytest.raises(TypeError, match="`using` names the database"):
        CompiledQuery(lambda using: ApiKey.objects.filter(name=using).values("id"))
