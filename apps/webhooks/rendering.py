"""What an event's `data` is: the object as the API renders it (its selector and its
serializer), and the body as the API encodes JSON. Registered with events.py when the app
loads."""

from collections.abc import Callable
from typing import Any

from apps.companies.selectors import company_list
from apps.companies.serializers import CompanySerializer
from apps.contacts.selectors import contact_list
from apps.contacts.serializers import ContactSerializer
from apps.conversations.selectors import conversation_list, message_list
from apps.conversations.serializers import ConversationSerializer, MessageSerializer
from apps.drafts.models import MessageDraft
from apps.drafts.selectors import message_draft_list, response_draft_list
from apps.drafts.serializers import MessageDraftSerializer, ResponseDraftSerializer
from apps.organizations.models import Organization
from apps.webhooks import events
from hyperrep.api.renderers import JSONRenderer
from hyperrep.api.serializers import format_datetime


def _as_read(selector: Callable[..., Any], serializer: Any) -> Callable[[Organization, Any], Any]:
    def render(organization: Organization, row: Any) -> Any:
        return serializer(selector(organization=organization).get(pk=row.pk)).data

    return render


def _draft(organization: Organization, draft: Any) -> Any:
    if isinstance(draft, MessageDraft):
        return _as_read(message_draft_list, MessageDraftSerializer)(organization, draft)
    return _as_read(response_draft_list, ResponseDraftSerializer)(organization, draft)


def _encode(body: dict[str, Any]) -> bytes:
    return JSONRenderer().render({**body, "created_at": format_datetime(body["created_at"])})


def register() -> None:
    events.RENDERERS.update(
        {
            "contact.created": _as_read(contact_list, ContactSerializer),
            "company.created": _as_read(company_list, CompanySerializer),
            "conversation.created": _as_read(conversation_list, ConversationSerializer),
            "message.received": _as_read(message_list, MessageSerializer),
            "message.sent": _as_read(message_list, MessageSerializer),
            "draft.failed": _draft,
        }
    )
    events.ENCODE[:] = [_encode]
