from rest_framework.mixins import ListModelMixin, RetrieveModelMixin

from apps.agents.models import Agent
from apps.sales.filters import SaleFilter
from apps.sales.models import Sale
from apps.sales.selectors import sale_list
from apps.sales.serializers import SaleSerializer
from hyperrep.api.viewsets import OrganizationScopedViewSet


class Sales(OrganizationScopedViewSet):
    model = Sale
    selector = sale_list
    serializer_class = SaleSerializer
    filterset_class = SaleFilter


class SaleViewSet(ListModelMixin, RetrieveModelMixin, Sales):
    pass


class AgentSaleViewSet(ListModelMixin, Sales):
    """The sales the agent owns."""

    parent = (Agent, "owner")
