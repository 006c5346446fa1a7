from typing import Any, cast

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.mixins import ListModelMixin, RetrieveModelMixin
from rest_framework.request import Request
from rest_framework.response import Response

from apps.webhooks.models import Delivery, Endpoint
from apps.webhooks.selectors import delivery_list, endpoint_list
from apps.webhooks.serializers import (
    DeliverySerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
    NoBody,
)
from apps.webhooks.services import (
    delivery_retry,
    endpoint_create,
    endpoint_delete,
    endpoint_rotate_secret,
    endpoint_update,
)
from hyperrep.api.viewsets import OrganizationScopedViewSet

WITH_SECRET = inline_serializer(
    "EndpointWithSecret",
    {
        **EndpointSerializer().get_fields(),
        "secret": serializers.CharField(help_text="whsec_…: shown here only"),
    },
)


class EndpointViewSet(ListModelMixin, RetrieveModelMixin, OrganizationScopedViewSet):
    model = Endpoint
    selector = endpoint_list
    serializer_class = EndpointSerializer
    descriptions = {
        "list": "The organization's webhook endpoints, newest first.",
        "retrieve": "One webhook endpoint.",
        "create": "Register an endpoint: `url` (https://; its host must resolve to public "
        "addresses: `400 Invalid url` otherwise) and the `events` it receives (a list of "
        'event types, or `["*"]`). The answer alone carries its signing `secret`.',
        "partial_update": "Change an endpoint's `url`, `events`, `description` or `enabled`.",
        "destroy": "Delete an endpoint; its pending deliveries are cancelled. Answers the "
        "deleted endpoint.",
        "rotate_secret": "A new signing `secret`; the previous one keeps signing alongside it "
        "for 24 hours.",
    }

    def with_secret(self, endpoint: Endpoint, secret: str) -> Response:
        response = self.respond_with(endpoint)
        response.data = {**response.data, "secret": secret}
        return response

    @extend_schema(request=EndpointCreateSerializer, responses={200: WITH_SECRET})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.read_body(EndpointCreateSerializer)
        endpoint, secret = endpoint_create(organization=self.organization, **body)
        return self.with_secret(endpoint, secret)

    @extend_schema(request=EndpointUpdateSerializer, responses={200: EndpointSerializer})
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = cast(Endpoint, self.get_object())
        body = self.read_body(EndpointUpdateSerializer)
        return self.respond_with(endpoint_update(endpoint, **body))

    @extend_schema(responses={200: EndpointSerializer})
    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = cast(Endpoint, self.get_object())
        rendered = self.get_serializer(endpoint).data
        endpoint_delete(endpoint)
        return Response(rendered)

    @extend_schema(request=None, responses={200: WITH_SECRET})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        endpoint = cast(Endpoint, self.get_object())
        self.read_body(NoBody)  # none, or an empty object
        return self.with_secret(endpoint, endpoint_rotate_secret(endpoint))


class DeliveryViewSet(ListModelMixin, OrganizationScopedViewSet):
    model = Delivery
    selector = delivery_list
    serializer_class = DeliverySerializer
    parent = (Endpoint, "endpoint")
    descriptions = {
        "list": "An endpoint's deliveries, newest first: each event sent to it, and how.",
        "retry": "Send the delivery again now, as one more attempt, whatever its status.",
    }

    @extend_schema(request=None, responses={200: DeliverySerializer})
    @action(detail=True, methods=["post"])
    def retry(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        delivery = cast(Delivery, self.get_object())
        self.read_body(NoBody)
        return self.respond_with(delivery_retry(delivery))
