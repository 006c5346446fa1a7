"""OpenAPI generation: drf-spectacular's schema, made to say exactly what the server does.

- Every operation is described by its own view's `descriptions[action]`.
- Path ids are declared with the id scheme's pattern (hyperrep/ids.py), not the router's.
- Request bodies are closed (`additionalProperties: false`): unknown fields are 422.
- Query parameters that take an empty value (no value: a list's filters, `limit`, `cursor`)
  declare that they do (hyperrep/api/parameters.py).
- A list that is not paginated (`GET /organizations`) answers the object it returns.
- Every operation lists the error responses of the contract.
"""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from hyperrep.ids import ID_PATTERN, PREFIXES


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
    "422": "Validation failed, or a query parameter the operation does not take; `detail` "
    "names each: `field: message; ...`.",
    "500": "`Internal server error`.",
}
BODY_ERRORS = {
    "411": "The body was sent without a Content-Length (chunked).",
    "413": "The body is larger than the configured limit.",
    "415": "The body is not `application/json` in UTF-8.",
}
ID_DESCRIPTION = (
    "An id: minted ones are a type prefix and 22 base62 characters; imported ones are kept as "
    "given. An id with another type's prefix ({prefixes}) is `400 Invalid <name>`."
).format(prefixes=", ".join(f"`{prefix}_`" for prefix in PREFIXES))


class AutoSchema(openapi.AutoSchema):
    def get_tags(self) -> list[str]:
        """One group per resource (agents, companies, contacts, ...) in the reference."""
        model = getattr(self.view, "model", None)
        return [str(model._meta.verbose_name_plural)] if model else super().get_tags()

    def get_description(self) -> str:  # type: ignore[override]
        return getattr(self.view, "descriptions", {}).get(getattr(self.view, "action", None), "")

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        if getattr(self.view, "action", None) == "list" and not self._is_list_view():
            return operation_id.removesuffix("_retrieve") + "_list"
        return operation_id

    def _is_list_view(self, serializer: Any = None) -> bool:
        # A list that is not paginated answers one object (`{"data": [...]}`), not an array.
        if getattr(self.view, "pagination_class", "paginated") is None:
            return False
        return super()._is_list_view(serializer)

    def _resolve_path_parameters(self, variables: list[str]) -> list[dict[str, Any]]:
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            parameter["schema"] = {"type": "string", "pattern": ID_PATTERN}
            parameter["description"] = ID_DESCRIPTION
        return parameters

    def _map_serializer(
        self, serializer: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request":
            schema["additionalProperties"] = False  # unknown body fields are 422
        return schema

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
