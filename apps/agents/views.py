from rest_framework.mixins import ListModelMixin, RetrieveModelMixin

from apps.agents.models import Agent
from apps.agents.selectors import agent_list
from apps.agents.serializers import AgentSerializer
from hyperrep.api.viewsets import OrganizationScopedViewSet


class AgentViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    """The organization's agents, A to Z. Agents are written in the admin, not the API."""

    model = Agent
    selector = agent_list
    serializer_class = AgentSerializer
    ordering = ("name", "id")
    descriptions = {
        "list": "The organization's agents (its sales reps), by name A to Z, then id. Agents "
        "are created in the admin or by import.",
        "retrieve": "One agent of the organization.",
    }
