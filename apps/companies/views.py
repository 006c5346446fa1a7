from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from apps.companies.models import Company
from apps.companies.selectors import company_list
from apps.companies.serializers import CompanyCreateSerializer, CompanySerializer
from apps.companies.services import company_create
from hyperrep.api.viewsets import OrganizationScopedViewSet


class CompanyViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    model = Company
    selector = company_list
    serializer_class = CompanySerializer
    descriptions = {
        "list": "The organization's companies, newest first.",
        "retrieve": "One company of the organization.",
        "create": "Create a company. `domain` is normalised (trimmed, lower-cased; scheme, port, "
        "path, query and fragment removed) and must then contain a dot; `agent_id` must be an "
        "agent of this organization (`400 Invalid agent_id`).",
    }

    @extend_schema(request=CompanyCreateSerializer, responses={200: CompanySerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.read_body(CompanyCreateSerializer)
        return self.respond_with(company_create(organization=self.organization, **body))
