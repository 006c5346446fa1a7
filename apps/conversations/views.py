from rest_framework.mixins import ListModelMixin, RetrieveModelMixin

from apps.agents.models import Agent
from apps.contacts.models import Contact
from apps.conversations.filters import ConversationFilter, ConversationWindow, MessageFilter
from apps.conversations.models import Conversation, Message
from apps.conversations.selectors import conversation_list, message_list
from apps.conversations.serializers import ConversationSerializer, MessageSerializer
from hyperrep.api.viewsets import OrganizationScopedViewSet


class Conversations(OrganizationScopedViewSet):
    """What every list of conversations shares: newest `start_at` first."""

    model = Conversation
    selector = conversation_list
    serializer_class = ConversationSerializer
    ordering = ("-start_at", "-id")
    filterset_class = ConversationWindow


class ConversationViewSet(ListModelMixin, RetrieveModelMixin, Conversations):
    filterset_class = ConversationFilter
    descriptions = {
        "list": "The organization's conversations, newest `start_at` first. `folder` is a "
        "folder slug; `start_date`/`end_date` bound `start_at`.",
        "retrieve": "One conversation of the organization.",
    }


class ContactConversationViewSet(ListModelMixin, Conversations):
    parent = (Contact, "contact")
    descriptions = {
        "list": "The contact's conversations, newest `start_at` first; `start_date`/`end_date` "
        "bound `start_at`.",
    }


class AgentConversationViewSet(ListModelMixin, Conversations):
    """The conversations assigned to the agent."""

    parent = (Agent, "agent")
    descriptions = {
        "list": "The conversations assigned to the agent, newest `start_at` first; "
        "`start_date`/`end_date` bound `start_at`.",
    }


class MessageViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    """A conversation's messages, oldest first."""

    model = Message
    selector = message_list
    serializer_class = MessageSerializer
    ordering = ("sent_at", "id")
    filterset_class = MessageFilter
    parent = (Conversation, "conversation")
    descriptions = {
        "list": "The conversation's messages, oldest first (`sent_at`, then id); "
        "`start_date`/`end_date` bound `sent_at`.",
        "retrieve": "One message of the conversation. A message of another conversation is "
        "`404 Message not found`.",
    }
