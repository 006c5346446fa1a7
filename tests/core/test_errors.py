"""Services, selectors and id lookups raise domain errors: plain Python exceptions with the
contract's message, whoever calls them (the API, a command, the worker). The API's one
handler gives each its status."""

import pytest
from rest_framework.exceptions import APIException

from apps.contacts.models import Contact
from apps.drafts.services import message_draft_create, response_draft_create
from apps.keys.services import api_key_create
from apps.organizations.models import ChannelKind, Organization
from apps.organizations.selectors import organization_get
from hyperrep import ids
from hyperrep.errors import DomainError, InvalidValue, NotFound
from tests.factories import ChannelFactory, ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_the_domain_errors_are_not_http_errors() -> None:
    assert not issubclass(DomainError, APIException)


def test_a_service_called_outside_http_raises_the_contracts_message(
    organization: Organization,
) -> None:
    ChannelFactory.create(organization=organization, kind=ChannelKind.TEXT)
    with pytest.raises(InvalidValue) as both:
        message_draft_create(
            organization=organization,
            modality="text",
            to_phone_number="+15550100000",
            autosend_draft=True,
            add_notification=True,
        )
    assert str(both.value) == "autosend_draft and add_notification cannot both be true"
    with pytest.raises(InvalidValue, match=r"^email is not configured for this organization$"):
        message_draft_create(organization=organization, modality="email", to_email="a@example.com")
    conversation = ConversationFactory.create(organization=organization)
    MessageFactory.create(conversation=conversation, modality="text")
    with pytest.raises(InvalidValue, match=r"^cc_emails and bcc_emails apply to email only$"):
        response_draft_create(
            organization=organization,
            conversation=conversation,
            body_html="Hi",
            cc_emails=["a@example.com"],
        )


def test_lookups_raise_invalid_value_and_not_found(organization: Organization) -> None:
    key, _plaintext = api_key_create(organizations=[organization])
    with pytest.raises(InvalidValue, match=r"^Invalid organization_id$"):
        organization_get(api_key=key, organization_id="ctc_wrongtype")
    with pytest.raises(NotFound, match=r"^Organization not found$"):
        organization_get(api_key=key, organization_id="org_missing")
    with pytest.raises(InvalidValue, match=r"^Invalid contact_id$"):
        ids.check("a b", prefix="ctc", name="contact_id")
    with pytest.raises(NotFound, match=r"^Contact not found$"):
        Contact.objects.for_org(organization).get_by_public_id("ctc_missing", "contact_id")
