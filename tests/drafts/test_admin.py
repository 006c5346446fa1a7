import pytest
from django.test import Client

from apps.drafts.models import DraftStatus
from apps.organizations.models import Channel, ChannelKind
from tests.factories import (
    ChannelFactory,
    MessageDraftFactory,
    OrganizationFactory,
    ResponseDraftFactory,
)

pytestmark = pytest.mark.django_db


def test_draft_and_channel_pages_render(admin_client: Client) -> None:
    channel = ChannelFactory.create(settings={"from": "sales@acme.example"})
    message_draft = MessageDraftFactory.create(to_email="findable@example.com")
    response_draft = ResponseDraftFactory.create(body_html="<p>Findable reply</p>")
    pages = {
        "/admin/organizations/channel/": channel.organization.name,
        f"/admin/organizations/channel/{channel.pk}/change/": "sales@acme.example",
        "/admin/drafts/messagedraft/?status__exact=pending": message_draft.public_id,
        f"/admin/drafts/messagedraft/{message_draft.pk}/change/": "findable@example.com",
        "/admin/drafts/responsedraft/?status__exact=pending": response_draft.public_id,
        f"/admin/drafts/responsedraft/{response_draft.pk}/change/": "Findable reply",
    }
    for path, expected in pages.items():
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert expected in response.content.decode(), path


def test_status_filter(admin_client: Client) -> None:
    pending = ResponseDraftFactory.create()
    sent = ResponseDraftFactory.create(status=DraftStatus.SENT)
    page = admin_client.get("/admin/drafts/responsedraft/?status__exact=sent").content.decode()
    assert sent.public_id in page
    assert pending.public_id not in page


def test_drafts_are_not_added_or_edited_in_the_admin(admin_client: Client) -> None:
    draft = ResponseDraftFactory.create(body_html="original")
    assert admin_client.get("/admin/drafts/responsedraft/add/").status_code == 403
    assert admin_client.get("/admin/drafts/messagedraft/add/").status_code == 403
    admin_client.post(
        f"/admin/drafts/responsedraft/{draft.pk}/change/",
        {"body_html": "changed", "status": "sent"},
    )
    draft.refresh_from_db()
    assert draft.body_html == "original"
    assert draft.status == DraftStatus.PENDING


def test_schedule_action_moves_drafts_through_the_state_machine(admin_client: Client) -> None:
    pending = MessageDraftFactory.create()
    sent = MessageDraftFactory.create(status=DraftStatus.SENT)
    response = admin_client.post(
        "/admin/drafts/messagedraft/",
        {"action": "schedule_now", "_selected_action": [pending.pk, sent.pk]},
        follow=True,
    )
    page = response.content.decode()
    assert "1 scheduled." in page
    assert "1 left alone" in page
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert pending.status == DraftStatus.SCHEDULED
    assert pending.scheduled_to_send is True
    assert pending.scheduled_send_at is not None
    assert sent.status == DraftStatus.SENT


def test_channels_are_configured_on_the_organization_page(admin_client: Client) -> None:
    organization = OrganizationFactory.create(name="Acme")
    page = admin_client.get(f"/admin/organizations/organization/{organization.pk}/change/")
    assert page.status_code == 200
    assert "channels-TOTAL_FORMS" in page.content.decode()
    response = admin_client.post(
        f"/admin/organizations/organization/{organization.pk}/change/",
        {
            "name": "Acme",
            "is_active": "on",
            "channels-TOTAL_FORMS": "1",
            "channels-INITIAL_FORMS": "0",
            "channels-MIN_NUM_FORMS": "0",
            "channels-MAX_NUM_FORMS": "2",
            "channels-0-kind": "text",
            "channels-0-enabled": "on",
            "channels-0-settings": '{"from": "+15550100"}',
        },
    )
    assert response.status_code == 302
    channel = Channel.objects.unscoped().get()
    assert channel.organization == organization
    assert channel.kind == ChannelKind.TEXT
    assert channel.settings == {"from": "+15550100"}


def test_a_channel_never_moves_to_another_organization(admin_client: Client) -> None:
    channel = ChannelFactory.create()
    elsewhere = OrganizationFactory.create()
    admin_client.post(
        f"/admin/organizations/channel/{channel.pk}/change/",
        {"organization": elsewhere.pk, "kind": "email", "settings": "{}"},
    )
    channel.refresh_from_db()
    assert channel.organization_id != elsewhere.pk
    assert channel.enabled is False  # the form was saved, without the organization
