"""Test data. A related factory takes its organization from its parent, so test data never
crosses tenants by accident."""

from typing import Any

import factory
from django.utils import timezone

from apps.agents.models import Agent
from apps.companies.models import Company
from apps.contacts.models import Contact
from apps.conversations.models import Conversation, Direction, Message, Modality, TrackedLink
from apps.conversations.services import conversations_touch
from apps.delivery.transports import redact
from apps.drafts.models import DraftModality, MessageDraft, ResponseDraft
from apps.organizations.models import Channel, ChannelKind, Organization
from apps.sales.models import Sale, SaleContact, SaleConversation, SaleStatus, SaleStatusChange


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


class ConversationFactory(factory.django.DjangoModelFactory[Conversation]):
    class Meta:
        model = Conversation

    organization = factory.SubFactory(OrganizationFactory)
    contact = factory.SubFactory(
        ContactFactory, organization=factory.SelfAttribute("..organization")
    )
    agent = factory.SubFactory(AgentFactory, organization=factory.SelfAttribute("..organization"))
    folder = "inbox"
    is_read = False
    start_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.SelfAttribute("start_at")


# What a conversation derives from its messages (models.Conversation).
DERIVED = ["last_activity_at", "first_inbound_at", "first_inbound_modality", "response_time_us"]


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    """A message; creating one updates what its conversation derives from its messages, as
    every write path does."""

    class Meta:
        model = Message
        skip_postgeneration_save = True

    organization = factory.SelfAttribute("conversation.organization")
    conversation = factory.SubFactory(ConversationFactory)
    agent = factory.SelfAttribute("conversation.agent")
    modality = Modality.EMAIL
    direction = Direction.RECEIVED
    subject = "Quote request"
    content = factory.Sequence(lambda n: f"Message {n}")
    sent_at = factory.LazyAttribute(lambda message: message.conversation.start_at)

    @factory.post_generation
    def touch_conversation(message: Message, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            conversations_touch(
                Conversation.objects.for_org(message.organization_id).filter(
                    pk=message.conversation_id
                )
            )
            message.conversation.refresh_from_db(fields=DERIVED)


class TrackedLinkFactory(factory.django.DjangoModelFactory[TrackedLink]):
    class Meta:
        model = TrackedLink

    organization = factory.SelfAttribute("message.organization")
    message = factory.SubFactory(MessageFactory)
    url = factory.Sequence(lambda n: f"https://example.com/offer/{n}")
    click_count = 0


class SaleFactory(factory.django.DjangoModelFactory[Sale]):
    class Meta:
        model = Sale
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    company = factory.SubFactory(
        CompanyFactory, organization=factory.SelfAttribute("..organization")
    )
    owner = factory.SubFactory(AgentFactory, organization=factory.SelfAttribute("..organization"))
    quote_details = factory.LazyFunction(
        lambda: {
            "output": {"currency": "USD", "total_price": "1200.00"},
            "arguments": {
                "products": [{"quantity": 2, "unit_price": "600.00", "product_name": "Gutter"}]
            },
            "agent_overrides": {},
        }
    )
    custom_fields = factory.LazyFunction(dict)
    created_at = factory.LazyFunction(timezone.now)
    last_activity_at = factory.SelfAttribute("created_at")

    @factory.post_generation
    def status(sale: Sale, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            SaleStatusChange.objects.create(
                organization=sale.organization,
                sale=sale,
                label="Quote sent",
                status=SaleStatus.QUOTE_SENT,
                changed_at=sale.created_at,
            )


class SaleContactFactory(factory.django.DjangoModelFactory[SaleContact]):
    class Meta:
        model = SaleContact

    organization = factory.SelfAttribute("sale.organization")
    sale = factory.SubFactory(SaleFactory)
    contact = factory.SubFactory(
        ContactFactory, organization=factory.SelfAttribute("..organization")
    )
    is_primary = False


class SaleConversationFactory(factory.django.DjangoModelFactory[SaleConversation]):
    class Meta:
        model = SaleConversation

    organization = factory.SelfAttribute("sale.organization")
    sale = factory.SubFactory(SaleFactory)
    conversation = factory.SubFactory(
        ConversationFactory, organization=factory.SelfAttribute("..organization")
    )


class ResponseDraftFactory(factory.django.DjangoModelFactory[ResponseDraft]):
    class Meta:
        model = ResponseDraft

    organization = factory.SelfAttribute("conversation.organization")
    conversation = factory.SubFactory(ConversationFactory)
    modality = DraftModality.EMAIL
    body_html = "<p>Thanks, we will be there Tuesday.</p>"


SENDERS = {ChannelKind.EMAIL: "Acme Roofing <sales@acme.example>", ChannelKind.TEXT: "+15550100200"}


class ChannelFactory(factory.django.DjangoModelFactory[Channel]):
    """A channel that sends through `console://` unless given another transport."""

    class Meta:
        model = Channel
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    kind = ChannelKind.EMAIL
    enabled = True
    sender = factory.LazyAttribute(lambda channel: SENDERS.get(channel.kind, ""))

    @factory.post_generation
    def transport(channel: Channel, create: bool, extracted: Any, **kwargs: Any) -> None:
        url = "console://" if extracted is None and channel.kind != ChannelKind.FORM else extracted
        channel.set_transport(url or "", shown=redact(url or ""))
        if create:
            channel.save()


class MessageDraftFactory(factory.django.DjangoModelFactory[MessageDraft]):
    class Meta:
        model = MessageDraft

    organization = factory.SelfAttribute("conversation.organization")
    conversation = factory.SubFactory(ConversationFactory)
    contact = factory.SelfAttribute("conversation.contact")
    modality = DraftModality.EMAIL
    subject = "Your quote"
    body_html = "<p>Here is your quote.</p>"
    to_email = factory.SelfAttribute("contact.email")
