"""The tenancy core fails closed: a read of tenant rows that names no organization raises,
on every way a queryset reaches the database."""

from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.contacts.models import Contact
from apps.conversations.models import Conversation
from apps.organizations.models import Channel, Organization
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
