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
    descriptions = {
        "list": "The organization's sales, newest first; draft sales never appear. "
        "`start_date`/`end_date` bound `created_at`.",
        "retrieve": "One sale of the organization (a draft sale is `404 Sale not found`).",
    }


class AgentSaleViewSet(ListModelMixin, Sales):
    """The sales the agent owns."""

    parent = (Agent, "owner")
    descriptions = {
        "list": "The sales the agent owns (`owner_id`), newest first; draft sales never "
        "appear. `start_date`/`end_date` bound `created_at`.",
    }
