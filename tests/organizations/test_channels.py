"""configure_channel and the service behind it: every value checked, nothing saved unless all
are good, credentials kept encrypted, the inbound token printed alone on the last line."""

import io

import pytest
from django.core.management import CommandError, call_command

from apps.organizations.models import Channel, ChannelKind, Organization
from apps.organizations.services import channel_configure
from hyperrep.errors import ValidationFailed
from tests.helpers import Api, detail

pytestmark = pytest.mark.django_db


def configure(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("configure_channel", *args, stdout=out)
    return out.getvalue().splitlines()


def test_configure_channel_creates_then_updates_and_prints_the_token(
    organization: Organization,
) -> None:
    lines = configure(
        "--organization",
        organization.public_id,
        "--kind",
        "email",
        "--from",
        "Acme Roofing <sales@acme.example>",
        "--transport",
        "smtp://sales:hunter2@mail.acme.example:587",
        "--reply-domain",
        "Reply.Acme.Example",
    )
    channel = Channel.objects.for_org(organization).get(kind=ChannelKind.EMAIL)
    assert lines[-1] == channel.inbound_token
    assert len(channel.inbound_token) >= 22  # at least 128 bits
    assert "hunter2" not in "\n".join(lines)
    assert (
        lines[0] == "Acme Roofing: email channel, enabled, smtp://sales:•••@mail.acme.example:587"
    )
    assert (channel.sender, channel.reply_domain) == (
        "Acme Roofing <sales@acme.example>",
        "reply.acme.example",
    )
    configure("--organization", organization.public_id, "--kind", "email", "--disable")
    channel.refresh_from_db()
    assert channel.enabled is False
    assert channel.transport_url() == "smtp://sales:hunter2@mail.acme.example:587"  # kept
    assert (
        configure("--organization", organization.public_id, "--kind", "email")[-1]
        == channel.inbound_token
    )


def test_a_bad_value_refuses_the_whole_change(organization: Organization) -> None:
    channel_configure(
        organization=organization, kind="text", sender="+15135550100", transport="console://"
    )
    with pytest.raises(CommandError, match=r"^transport: a text channel sends through twilio"):
        configure(
            "--organization",
            organization.public_id,
            "--kind",
            "text",
            "--from",
            "+15135550199",
            "--transport",
            "smtp://",
        )
    channel = Channel.objects.for_org(organization).get()
    assert (channel.sender, channel.transport_url()) == ("+15135550100", "console://")
    with pytest.raises(CommandError, match=r"^No organization 'org_missing'"):
        configure("--organization", "org_missing", "--kind", "email")


@pytest.mark.parametrize(
    ("kind", "values", "message"),
    [
        ("text", {"sender": "not a number"}, "from: Enter a valid phone number."),
        ("email", {"sender": "no address"}, "from: Enter an address"),
        ("text", {"reply_domain": "reply.acme.example"}, "reply_domain: Only an email channel"),
        ("form", {"sender": "sales@acme.example"}, "from: A form channel sends nothing"),
        ("fax", {}, "kind: Must be one of email, text, form."),
    ],
)
def test_values_are_checked_for_their_kind(
    organization: Organization, kind: str, values: dict[str, str], message: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        channel_configure(organization=organization, kind=kind, **values)
    assert str(refused.value).startswith(message)
    assert not Channel.objects.for_org(organization).exists()


def test_a_channel_without_a_transport_refuses_drafts(
    api: Api, org_path: str, organization: Organization
) -> None:
    channel_configure(organization=organization, kind="email", sender="sales@acme.example")
    response = api.post(
        f"{org_path}/message-drafts",
        {"modality": "email", "subject": "Hi", "to_email": "a@example.com"},
    )
    assert response.status_code == 400
    assert detail(response) == "email is not configured for this organization"
