from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.mixins import ListModelMixin
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.conversations.models import Conversation
from apps.drafts.filters import ResponseDraftFilter
from apps.drafts.models import MessageDraft, ResponseDraft
from apps.drafts.selectors import message_draft_list, response_draft_list
from apps.drafts.serializers import (
    LegacyMessageDraftSerializer,
    MessageDraftCreateSerializer,
    MessageDraftSerializer,
    ResponseDraftCreatedSerializer,
    ResponseDraftCreateSerializer,
    ResponseDraftSerializer,
)
from apps.drafts.services import message_draft_create, response_draft_create
from hyperrep.api.schema import ErrorSerializer
from hyperrep.api.serializers import OutputSerializer
from hyperrep.api.viewsets import OrganizationScopedViewSet

NOT_SENDABLE = (
    "`autosend_draft and add_notification cannot both be true`, or the channel is not "
    "enabled: `email is not configured for this organization` (or `text ...`)"
)
MESSAGE_DRAFT_ERRORS = {400: OpenApiResponse(ErrorSerializer, description=f"{NOT_SENDABLE}.")}
RESPONSE_DRAFT_ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer,
        description=f"`Invalid conversation_id`, {NOT_SENDABLE}, or the conversation has no "
        "email or text channel to reply on.",
    )
}


class MessageDraftViewSet(OrganizationScopedViewSet):
    """Drafts that start a new outbound conversation."""

    model = MessageDraft
    selector = message_draft_list
    serializer_class: type[OutputSerializer] = MessageDraftSerializer
    descriptions = {
        "create": "Draft the first message of a new conversation with the contact it names: "
        "found by email (case-insensitively), else by phone number (in E.164), or created. "
        "The organization's channel for the modality must be enabled. With `autosend_draft` "
        "the draft is scheduled for delivery now; otherwise it waits for review.",
    }

    @extend_schema(
        request=MessageDraftCreateSerializer,
        responses={200: MessageDraftSerializer, **MESSAGE_DRAFT_ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.read_body(MessageDraftCreateSerializer)
        return self.respond_with(message_draft_create(organization=self.organization, **body))


class LegacyMessageDraftViewSet(MessageDraftViewSet):
    """The older `messages-drafts` spelling: the same drafts, rendered with the older names."""

    serializer_class = LegacyMessageDraftSerializer
    descriptions = {
        "create": "The older spelling of `POST message-drafts`: the same draft, answered as "
        "`{draft_id, queued_to_send, send_at, folder}`.",
    }

    @extend_schema(
        request=MessageDraftCreateSerializer,
        responses={200: LegacyMessageDraftSerializer, **MESSAGE_DRAFT_ERRORS},
        deprecated=True,
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)


class ResponseDraftViewSet(ListModelMixin, OrganizationScopedViewSet):
    """A conversation's response drafts, newest first: the pending one and its history."""

    model = ResponseDraft
    selector = response_draft_list
    serializer_class = ResponseDraftSerializer
    filterset_class = ResponseDraftFilter
    parent = (Conversation, "conversation")
    descriptions = {
        "list": "The conversation's response drafts, newest first: the pending one and every "
        "earlier version; `start_date`/`end_date` bound `created_at`.",
        "create": "Draft a reply in the conversation. It goes out on the channel of the "
        "conversation's latest email or text message (else email when the contact has an "
        "address, else text); a pending draft it replaces is kept as `superseded`.",
    }

    def get_serializer_class(self) -> type[BaseSerializer]:
        if self.action == "create":
            return ResponseDraftCreatedSerializer
        return ResponseDraftSerializer

    @extend_schema(
        request=ResponseDraftCreateSerializer,
        responses={200: ResponseDraftCreatedSerializer, **RESPONSE_DRAFT_ERRORS},
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.read_body(ResponseDraftCreateSerializer)
        assert isinstance(self.parent_object, Conversation)
        draft = response_draft_create(
            organization=self.organization, conversation=self.parent_object, **body
        )
        return self.respond_with(draft)
