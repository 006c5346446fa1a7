"""The tenancy core fails closed: a read of tenant rows that names no organization raises,
on every way a queryset reaches the database."""

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from apps.contacts.models import Contact
from apps.conversations.models import Conversation
from apps.organizations.models import Channel, Organization
from hyperrep.errors import InvalidValue
from hyperrep.tenancy.models import TenantManager, TenantModel, UnscopedQuery
from tests.factories import ContactFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

UNSCOPED_READS: list[tuple[str, Callable[[], Any]]] = [
    ("iterate", lambda: list(Contact.objects.all())),
    ("filter", lambda: list(Contact.objects.filter(name="Ann"))),
    ("get", lambda: Contact.objects.get(name="Ann")),
    ("first", lambda: Contact.objects.first()),
    ("index", lambda: Contact.objects.order_by("pk")[0]),
    ("count", lambda: Contact.objects.count()),
    ("exists", lambda: Contact.objects.exists()),
    ("values", lambda: list(Contact.objects.values_list("pk", flat=True))),
    ("iterator", lambda: list(Contact.objects.iterator())),
    ("aggregate", lambda: Contact.objects.aggregate(models.Count("pk"))),
    ("update", lambda: Contact.objects.update(name="x")),
    ("delete", lambda: Contact.objects.filter(name="Ann").delete()),
    (
        "subquery",
        lambda: list(Conversation.objects.unscoped().filter(contact__in=Contact.objects.all())),
    ),
    ("or", lambda: list(Contact.objects.filter(Q(organization=1) | Q(name="Ann")))),
    ("negated", lambda: list(Contact.objects.exclude(organization=1))),
    ("across a join", lambda: list(Contact.objects.filter(company__organization=1))),
]


@pytest.mark.parametrize(("how", "read"), UNSCOPED_READS, ids=[how for how, _ in UNSCOPED_READS])
def test_an_unscoped_read_raises(how: str, read: Callable[[], Any]) -> None:
    ContactFactory.create(name="Ann")
    with pytest.raises(UnscopedQuery, match=r"Contact\.objects\.for_org\(organization\)"):
        read()


def test_for_org_reads_one_organization_and_unscoped_reads_all(
    organization: Organization, other_organization: Organization
) -> None:
    mine = ContactFactory.create(organization=organization)
    theirs = ContactFactory.create(organization=other_organization)
    assert list(Contact.objects.for_org(organization)) == [mine]
    assert list(Contact.objects.for_org(other_organization.pk)) == [theirs]
    assert Contact.objects.for_org(organization).filter(pk=theirs.pk).count() == 0
    assert set(Contact.objects.unscoped()) == {mine, theirs}
    assert Contact.objects.unscoped().filter(name=mine.name).get() == mine  # kept when chained


def test_by_public_id_after_for_org_alone_is_the_same_query_and_row(
    organization: Organization, other_organization: Organization
) -> None:
    mine = ConversationFactory.create(organization=organization)
    theirs = ConversationFactory.create(organization=other_organization)
    chained = Conversation.objects.for_org(organization).all()  # a clone: the ORM's own path
    with CaptureQueriesContext(connection) as expected:
        by_orm = chained.by_public_id(mine.public_id, "conversation_id")
    with CaptureQueriesContext(connection) as compiled:
        found = Conversation.objects.for_org(organization).by_public_id(mine.public_id, "c_id")
    assert [q["sql"] for q in compiled] == [q["sql"] for q in expected]
    assert found == by_orm == mine
    assert {f.attname: getattr(found, f.attname) for f in Conversation._meta.concrete_fields} == {
        f.attname: getattr(by_orm, f.attname) for f in Conversation._meta.concrete_fields
    }
    assert (found._state.adding, found._state.db) == (False, by_orm._state.db)
    assert Conversation.objects.for_org(organization.pk).by_public_id(mine.public_id, "c") == mine
    assert Conversation.objects.for_org(organization).by_public_id(theirs.public_id, "c") is None
    with pytest.raises(InvalidValue, match="Invalid conversation_id"):
        Conversation.objects.for_org(organization).by_public_id("ctc_x", "conversation_id")


def test_only_a_queryset_with_nothing_but_its_organization_takes_the_compiled_lookup(
    organization: Organization,
) -> None:
    conversation = ConversationFactory.create(organization=organization)
    assert Conversation.objects.for_org(organization)._only_organization == organization.pk
    assert Conversation.objects.for_org(Organization.objects.all()[:1])._only_organization is None
    assert Conversation.objects.for_org(organization).all()._only_organization is None
    assert Conversation.objects.for_org(organization).filter(pk=0)._only_organization is None
    assert (
        Conversation.objects.for_org(organization)
        .filter(pk=0)
        .by_public_id(conversation.public_id, "conversation_id")
        is None
    )  # the condition after for_org counts
    related = conversation.contact.conversations  # a related manager: its queryset has more
    assert related.for_org(organization)._only_organization is None


def test_a_rows_own_relations_read_through_it(organization: Organization) -> None:
    message = MessageFactory.create(conversation__organization=organization)
    conversation = message.conversation
    assert list(conversation.contact.conversations.all()) == [conversation]
    assert list(conversation.messages.all()) == [message]
    prefetched = Conversation.objects.for_org(organization).prefetch_related("messages").get()
    assert list(prefetched.messages.all()) == [message]
    assert message.conversation.contact.organization == organization  # forward: base manager


def test_a_refused_queryset_still_has_a_repr() -> None:
    assert repr(Contact.objects.all()) == "<TenantQuerySet of Contact without an organization>"


def tenant_tables() -> list[type[models.Model]]:
    return [
        model
        for model in apps.get_models()
        if any(field.name == "organization" for field in model._meta.fields)
    ]


def test_every_table_with_an_organization_is_a_tenant_model() -> None:
    tables = tenant_tables()
    assert len(tables) >= 15  # channels, sale rows and rollups included
    for model in tables:
        assert issubclass(model, TenantModel), model
        assert isinstance(model._default_manager, TenantManager), model
        assert not isinstance(model._base_manager, TenantManager), model


# Unique across organizations on purpose: an inbound URL names a channel by its token alone.
GLOBALLY_UNIQUE = {(Channel, "inbound_token")}


def test_every_unique_constraint_of_a_tenant_table_includes_the_organization() -> None:
    for model in tenant_tables():
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint):
                assert "organization" in constraint.fields, (model, constraint.name)
        unique = {f.name for f in model._meta.fields if f.unique and not f.primary_key}
        assert unique == {name for table, name in GLOBALLY_UNIQUE if table is model}, model


def test_one_clean_refuses_a_relation_to_another_organization(
    organization: Organization, other_organization: Organization
) -> None:
    conversation = ConversationFactory.create(organization=organization)
    conversation.contact = ContactFactory.create(organization=other_organization)
    with pytest.raises(ValidationError) as refused:
        conversation.full_clean()
    assert refused.value.message_dict == {"contact": ["Contact of another organization."]}
    conversation.contact = ContactFactory.create(organization=organization)
    conversation.full_clean()  # the same organization is fine, and so is no agent
