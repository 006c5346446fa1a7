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


class ContactConversationViewSet(ListModelMixin, Conversations):
    parent = (Contact, "contact")


class AgentConversationViewSet(ListModelMixin, Conversations):
    """The conversations assigned to the agent."""

    parent = (Agent, "agent")


class MessageViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    """A conversation's messages, oldest first."""

    model = Message
    selector = message_list
    serializer_class = MessageSerializer
    ordering = ("sent_at", "id")
    filterset_class = MessageFilter
    parent = (Conversation, "conversation")
