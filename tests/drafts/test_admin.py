import pytest
from django.test import Client

from apps.drafts.models import DraftStatus
from tests.factories import (
    MessageDraftFactory,
    ResponseDraftFactory,
)

pytestmark = pytest.mark.django_db


def test_draft_pages_render(admin_client: Client) -> None:
    message_draft = MessageDraftFactory.create(to_email="findable@example.com")
    response_draft = ResponseDraftFactory.create(body_html="<p>Findable reply</p>")
    pages = {
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
