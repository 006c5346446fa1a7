"""What DRF answers about formats: always JSON, whatever `Accept` says, and an OPTIONS answer
that does not guess request bodies from response serializers."""

from collections.abc import Iterable
from typing import Any

from rest_framework.metadata import SimpleMetadata
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request


class JSONOnlyNegotiation(DefaultContentNegotiation):
    """The API speaks JSON only, so an `Accept` of something else still gets JSON rather than
    a 406 the contract does not have. Request bodies are still negotiated (415)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


class Metadata(SimpleMetadata):
    """OPTIONS: name, description and media types. DRF would also describe POST bodies from
    the view's serializer, which here is the output shape, not what a POST takes; the
    OpenAPI schema documents request bodies."""

    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        return {}
