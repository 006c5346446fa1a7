from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analytics import selectors
from apps.analytics.filters import window_from
from apps.analytics.serializers import (
    ConversationAnalyticsSerializer,
    ModalitySerializer,
    ResponseRateSerializer,
    ResponseTimeSerializer,
    VolumeSerializer,
)
from hyperrep.api.viewsets import OrganizationScopedViewSet

WINDOW = [
    OpenApiParameter(
        name,
        OpenApiTypes.DATETIME,
        required=True,
        description=f"{bound} bound (ISO 8601); not later than now",
    )
    for name, bound in (("start_date", "Inclusive lower"), ("end_date", "Exclusive upper"))
]


def documented(serializer: type) -> Any:
    return extend_schema(tags=["analytics"], parameters=WINDOW, responses=serializer)


class ConversationAnalyticsViewSet(OrganizationScopedViewSet):
    """Analytics of the organization's conversations in a window: all four blocks together,
    or one of them unwrapped."""

    @documented(ConversationAnalyticsSerializer)
    def combined(self, request: Request, **kwargs: Any) -> Response:
        analytics = selectors.conversation_analytics(
            organization=self.organization, window=window_from(request)
        )
        return Response(ConversationAnalyticsSerializer(analytics).data)

    @documented(ResponseRateSerializer)
    def response_rate(self, request: Request, **kwargs: Any) -> Response:
        firsts = selectors.first_inbounds(
            organization=self.organization, window=window_from(request)
        )
        return Response(ResponseRateSerializer(selectors.response_rate(firsts)).data)

    @documented(ResponseTimeSerializer)
    def response_time(self, request: Request, **kwargs: Any) -> Response:
        window = window_from(request)
        firsts = selectors.first_inbounds(organization=self.organization, window=window)
        stats = selectors.response_time(
            organization=self.organization, window=window, firsts=firsts
        )
        return Response(ResponseTimeSerializer(stats).data)

    @documented(VolumeSerializer)
    def volume(self, request: Request, **kwargs: Any) -> Response:
        stats = selectors.volume(organization=self.organization, window=window_from(request))
        return Response(VolumeSerializer(stats).data)

    @documented(ModalitySerializer)
    def modality(self, request: Request, **kwargs: Any) -> Response:
        firsts = selectors.first_inbounds(
            organization=self.organization, window=window_from(request)
        )
        return Response(ModalitySerializer(selectors.modality_counts(firsts)).data)
