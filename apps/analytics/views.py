from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from apps.analytics import selectors
from apps.analytics.filters import WINDOW, window_from
from apps.analytics.serializers import (
    ConversationAnalyticsSerializer,
    ModalitySerializer,
    ResponseRateSerializer,
    ResponseTimeSerializer,
    VolumeSerializer,
)
from hyperrep.api.parameters import INSTANT
from hyperrep.api.viewsets import OrganizationScopedViewSet

WINDOW_PARAMETERS = [
    OpenApiParameter(
        name,
        INSTANT,
        required=True,
        description=f"{bound} bound (ISO 8601); not later than now",
    )
    for name, bound in (("start_date", "Inclusive lower"), ("end_date", "Exclusive upper"))
]


def documented(serializer: type) -> Any:
    return extend_schema(tags=["analytics"], parameters=WINDOW_PARAMETERS, responses=serializer)


class ConversationAnalyticsViewSet(OrganizationScopedViewSet):
    """Analytics of the organization's conversations in a window: all four blocks together,
    or one of them unwrapped."""

    descriptions = {
        "combined": "The four blocks of the window together: response rate, response times, "
        "volume and first-message modalities.",
        "response_rate": "The response-rate block alone: conversations whose first inbound "
        "message falls in the window, how many of them got a response, and the rate.",
        "response_time": "The response-time block alone: mean, median and 90th percentile "
        "seconds from the first inbound message to the first response, over the window's "
        "responded conversations.",
        "volume": "The volume block alone: messages received and sent with `sent_at` in the "
        "window, and conversations started in it.",
        "modality": "The modality block alone: the window's received conversations by the "
        "modality of their first inbound message.",
    }

    def query_parameters(self) -> frozenset[str]:
        return WINDOW

    def answer(self, serializer: type, block: str | None) -> Response:
        window = window_from(self.request)
        if block is None:
            found = selectors.conversation_analytics(organization=self.organization, window=window)
        else:
            found = selectors.breakout(block, organization=self.organization, window=window)
        return Response(serializer(found).data)

    @documented(ConversationAnalyticsSerializer)
    def combined(self, request: Request, **kwargs: Any) -> Response:
        return self.answer(ConversationAnalyticsSerializer, None)

    @documented(ResponseRateSerializer)
    def response_rate(self, request: Request, **kwargs: Any) -> Response:
        return self.answer(ResponseRateSerializer, "response_rate")

    @documented(ResponseTimeSerializer)
    def response_time(self, request: Request, **kwargs: Any) -> Response:
        return self.answer(ResponseTimeSerializer, "response_time")

    @documented(VolumeSerializer)
    def volume(self, request: Request, **kwargs: Any) -> Response:
        return self.answer(VolumeSerializer, "volume")

    @documented(ModalitySerializer)
    def modality(self, request: Request, **kwargs: Any) -> Response:
        return self.answer(ModalitySerializer, "modality")
