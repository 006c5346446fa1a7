from typing import Any, cast

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework.request import Request
from rest_framework.response import Response

from apps.keys.models import ApiKey
from apps.organizations.selectors import organization_list
from apps.organizations.serializers import OrganizationSerializer
from hyperrep.api.viewsets import ApiViewSet


class OrganizationViewSet(ApiViewSet):
    """The organizations the API key can reach."""

    pagination_class = None  # the whole list, in `data`
    descriptions = {
        "list": "The active organizations this API key can reach, by name: the whole list, "
        "in `data`, without a pagination block.",
        "retrieve": "One organization this key can reach. One it cannot reach, or an inactive "
        "one, is `404 Organization not found`, as an id that does not exist is.",
    }

    lookup_url_kwarg = "organization_id"
    lookup_value_regex = "[^/]+"

    @extend_schema(
        responses=inline_serializer("OrganizationList", {"data": OrganizationSerializer(many=True)})
    )
    def list(self, request: Request) -> Response:
        organizations = organization_list(api_key=cast(ApiKey, request.auth))
        return Response({"data": OrganizationSerializer(organizations, many=True).data})

    @extend_schema(responses=OrganizationSerializer)
    def retrieve(self, request: Request, organization_id: str, **kwargs: Any) -> Response:
        return Response(OrganizationSerializer(self.organization_named(organization_id)).data)
