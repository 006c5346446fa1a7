"""Channels in the admin: configured on the organization's page or their own, checked by the
rules configure_channel applies, the transport written but never shown back."""

from typing import Any

import pytest
from django.test import Client

from apps.organizations.models import Channel, ChannelKind
from tests.factories import ChannelFactory, OrganizationFactory, ResponseDraftFactory

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-auth-token"


def organization_form(organization: Any, **channel: str) -> dict[str, str]:
    return {
        "name": organization.name,
        "is_active": "on",
        "channels-TOTAL_FORMS": "1",
        "channels-INITIAL_FORMS": "0",
        "channels-MIN_NUM_FORMS": "0",
        "channels-MAX_NUM_FORMS": "3",
        **{f"channels-0-{name}": value for name, value in channel.items()},
    }


def test_a_channel_is_configured_on_the_organization_page(admin_client: Client) -> None:
    organization = OrganizationFactory.create(name="Acme")
    url = f"/admin/organizations/organization/{organization.pk}/change/"
    assert "channels-TOTAL_FORMS" in admin_client.get(url).content.decode()
    response = admin_client.post(
        url,
        organization_form(
            organization,
            kind="text",
            enabled="on",
            sender="(513) 555-0100",
            transport=f"twilio://AC123:{SECRET}@api.twilio.com",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    channel = Channel.objects.for_org(organization).get()
    assert (channel.kind, channel.sender) == (ChannelKind.TEXT, "+15135550100")
    assert channel.transport_url() == f"twilio://AC123:{SECRET}@api.twilio.com"
    assert channel.transport_shown == "twilio://AC123:•••@api.twilio.com"
    assert SECRET not in channel.transport_sealed  # encrypted at rest
    for page in (url, f"/admin/organizations/channel/{channel.pk}/change/"):
        shown = admin_client.get(page).content.decode()
        assert "twilio://AC123:•••@api.twilio.com" in shown
        assert SECRET not in shown


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("transport", "smtp://", "an SMTP transport needs a host"),
        ("transport", "ftp://files.example", "an email channel sends through"),
        ("transport", "anymail+nosuchesp://key@", "unknown ESP"),
        ("sender", "not an address", "Enter an address"),
        ("reply_domain", "no-dot", "Enter a domain name"),
    ],
)
def test_a_channel_the_rules_refuse_is_not_saved(
    admin_client: Client, field: str, value: str, reason: str
) -> None:
    channel = ChannelFactory.create()
    data = {
        "organization": channel.organization_id,
        "kind": "email",
        "enabled": "on",
        "sender": "Acme <sales@acme.example>",
        "transport": "",
        "reply_domain": "",
        field: value,
    }
    response = admin_client.post(f"/admin/organizations/channel/{channel.pk}/change/", data)
    assert response.status_code == 200
    assert reason in response.content.decode()
    channel.refresh_from_db()
    assert channel.transport_url() == "console://"
    assert channel.sender == "Acme Roofing <sales@acme.example>"


def test_a_transport_is_kept_unless_replaced_or_removed(admin_client: Client) -> None:
    channel = ChannelFactory.create(transport="smtp://u:pw@mail.example:587")
    url = f"/admin/organizations/channel/{channel.pk}/change/"
    data = {"kind": "email", "enabled": "on", "sender": "sales@acme.example", "transport": ""}
    assert admin_client.post(url, data).status_code == 302
    channel.refresh_from_db()
    assert channel.transport_url() == "smtp://u:pw@mail.example:587"
    assert admin_client.post(url, {**data, "remove_transport": "on"}).status_code == 302
    channel.refresh_from_db()
    assert not channel.has_transport


def test_a_channel_never_moves_to_another_organization(admin_client: Client) -> None:
    channel = ChannelFactory.create()
    elsewhere = OrganizationFactory.create()
    admin_client.post(
        f"/admin/organizations/channel/{channel.pk}/change/",
        {"organization": elsewhere.pk, "kind": "email", "sender": "sales@acme.example"},
    )
    channel.refresh_from_db()
    assert channel.organization_id != elsewhere.pk
    assert channel.enabled is False  # the form was saved, without the organization


def test_the_channel_page_lists_its_recent_deliveries(admin_client: Client) -> None:
    channel = ChannelFactory.create()
    failed = ResponseDraftFactory.create(
        conversation__organization=channel.organization,
        status="failed",
        attempts=8,
        last_error="SMTP 550: mailbox unavailable",
    )
    page = admin_client.get(f"/admin/organizations/channel/{channel.pk}/change/").content.decode()
    assert failed.public_id in page
    assert "SMTP 550: mailbox unavailable" in page
