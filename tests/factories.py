"""Test data. A related factory takes its organization from its parent, so test data never
crosses tenants by accident."""

import factory
from django.utils import timezone

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.organizations.models import Organization


class OrganizationFactory(factory.django.DjangoModelFactory[Organization]):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n:04d}")


class AgentFactory(factory.django.DjangoModelFactory[Agent]):
    class Meta:
        model = Agent

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Agent {n:04d}")
    email = factory.Sequence(lambda n: f"agent{n}@example.com")


class CompanyFactory(factory.django.DjangoModelFactory[Company]):
    class Meta:
        model = Company

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Company {n:04d}")
    domain = factory.Sequence(lambda n: f"company{n}.example.com")
    address = "1 Main Street"
    custom_fields = factory.LazyFunction(lambda: {"tier": "gold"})
    agent = factory.SubFactory(AgentFactory, organization=factory.SelfAttribute("..organization"))
    created_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory[Contact]):
    class Meta:
        model = Contact

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Contact {n:04d}")
    email = factory.Sequence(lambda n: f"contact{n}@example.com")
    phone_number = factory.Sequence(lambda n: f"+1555{n:07d}")
    company = factory.SubFactory(
        CompanyFactory, organization=factory.SelfAttribute("..organization")
    )
    company_role = "Owner"
    custom_fields = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(timezone.now)
