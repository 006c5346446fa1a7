"""OpenAPI generation: DRF-spectacular's schema plus the error responses of the contract."""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "hyperrep.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "apiKey", "in": "header", "name": "X-API-KEY"}


def document_paths_without_trailing_slash(endpoints: list[Any], **kwargs: Any) -> list[Any]:
    """Routes accept an optional trailing slash; the reference shows the canonical path."""
    return [
        (path.rstrip("/") if path != "/" else path, regex, method, callback)
        for path, regex, method, callback in endpoints
    ]


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


ERRORS = {
    "400": "Invalid value: an id that cannot be valid, `Invalid cursor`, a reversed date "
    "range, an unknown id in the body, malformed JSON or NUL characters.",
    "403": "`Missing API Key`, `Invalid API Key`, `API Key is inactive`, `API Key has "
    "expired`, or `API Key does not have write access`.",
    "404": "`Organization not found` or `<Resource> not found`.",
    "422": "Validation failed; `detail` names each field: `field: message; ...`.",
    "500": "`Internal server error`.",
}
BODY_ERRORS = {
    "413": "The body is larger than the configured limit.",
    "415": "The body is not `application/json`.",
}


class AutoSchema(openapi.AutoSchema):
    def get_tags(self) -> list[str]:
        """One group per resource (agents, companies, contacts, ...) in the reference."""
        model = getattr(self.view, "model", None)
        return [str(model._meta.verbose_name_plural)] if model else super().get_tags()

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERRORS)
        for code, description in errors.items():
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = description
                responses[code] = response
        return responses
