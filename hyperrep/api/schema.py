"""OpenAPI generation: drf-spectacular's schema, made to say exactly what the server does.

- Every operation is described by its own view's `descriptions[action]`.
- Path ids are declared with the id scheme's pattern (hyperrep/ids.py), not the router's.
- Request bodies are closed (`additionalProperties: false`): unknown fields are 422.
- Query parameters that take an empty value (no value: a list's filters, `limit`, `cursor`)
  declare that they do (hyperrep/api/parameters.py).
- A list that is not paginated (`GET /organizations`) answers the object it returns.
- Every operation lists the error responses of the contract, and the headers of section 17:
  `RateLimit-Policy` and `RateLimit` on every answer, `429` with `Retry-After`, and on every
  `POST` the `Idempotency-Key` header with its `409`/`422` answers and `Idempotent-Replayed`.
- What a value must be is said wherever OpenAPI can say it, so that a request the schema
  calls valid is accepted: text that is trimmed must not be blank (`pattern`), a phone number
  must be possible (`format: phone`), a domain must have a dot (`format: domain`), and a
  serializer's rules across fields (`schema_rules`) are merged into its body's schema.
"""

from typing import Any, Literal

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent, force_instance, is_serializer
from drf_spectacular.utils import OpenApiParameter
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
    "range, an unknown id in the body, malformed JSON or `NUL characters are not allowed`.",
    "403": "`Missing API Key`, `Invalid API Key`, `API Key is inactive`, `API Key has "
    "expired`, or `API Key does not have write access`.",
    "404": "`Organization not found` or `<Resource> not found`.",
    "422": "Validation failed, or a query parameter the operation does not take; `detail` "
    "names each: `field: message; ...`.",
    "429": "`Rate limit exceeded`: the budget is spent (the API key's for this organization; "
    "the key's own where the path names none); `Retry-After` says in how many seconds to "
    "try again.",
    "500": "`Internal server error`.",
}
BODY_ERRORS = {
    "411": "The body was sent without a Content-Length (chunked).",
    "413": "The body is larger than the configured limit.",
    "415": "The body is not `application/json` in UTF-8.",
}
# A POST's answers to its Idempotency-Key (section 17), besides the replay of a kept answer.
IDEMPOTENCY_ERRORS = {
    "400": " Also `Invalid Idempotency-Key`.",
    "409": "`A request with this Idempotency-Key is in progress`: the first request with the "
    "key has not answered yet.",
    "422": " Also `Idempotency-Key was used with a different request` (another path or body).",
}

# Text a field trims before it checks it must contain a character that is not whitespace
# (Python's, which str.strip() removes), or it is blank.
WHITESPACE = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
NOT_BLANK = f"[^{WHITESPACE}]"
# Text that goes into an email header: one line (of a field that is trimmed, once trimmed).
ONE_LINE = r"^[^\r\n]*$"
ONE_LINE_TRIMMED = rf"^[{WHITESPACE}]*(?:[^\r\n]*[^{WHITESPACE}])?[{WHITESPACE}]*$"

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    {"type": "string", "pattern": r"^[\x20-\x7e]{1,255}$"},
    OpenApiParameter.HEADER,
    required=False,
    description="Makes a retried POST safe: 1 to 255 printable ASCII characters (otherwise "
    "`400 Invalid Idempotency-Key`). The first request with a key runs and its status and "
    "body are kept for 24 hours for this API key and organization; a repeat with the same "
    "method, path and body gets them again with `Idempotent-Replayed: true`. A 5xx is not "
    "kept.",
)
ID_DESCRIPTION = (
    "An id: minted ones are a type prefix and 22 base62 characters; imported ones are kept as "
    "given. An id with another type's prefix ({prefixes}) is `400 Invalid <name>`."
).format(prefixes=", ".join(f"`{prefix}_`" for prefix in PREFIXES))

# The response headers of section 17, each a component every answer refers to.
HEADERS = {
    "RateLimit-Policy": {
        "schema": {"type": "string"},
        "description": 'The budget (IETF ratelimit-headers), e.g. `"default";q=1200;w=60`: `q` '
        "requests per `w` seconds for this API key and organization (the key's own where the "
        "path names none). On every answer while rate limiting is on (`API_RATE_LIMIT` is "
        "not `0`).",
    },
    "RateLimit": {
        "schema": {"type": "string"},
        "description": 'What is left of the budget, e.g. `"default";r=1187;t=42`: `r` requests '
        "remain, and in `t` seconds it has room again. Beside `RateLimit-Policy`.",
    },
    "Retry-After": {
        "schema": {"type": "integer", "minimum": 0},
        "required": True,
        "description": "Seconds to wait before the budget has room again.",
    },
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "`true` on the kept answer to a repeat of a request's `Idempotency-Key`: "
        "the request did not run again.",
    },
}


class AutoSchema(openapi.AutoSchema):
    def get_tags(self) -> list[str]:
        """One group per resource (agents, companies, contacts, ...) in the reference."""
        model = getattr(self.view, "model", None)
        return [str(model._meta.verbose_name_plural)] if model else super().get_tags()

    def get_description(self) -> str:  # type: ignore[override]
        return getattr(self.view, "descriptions", {}).get(getattr(self.view, "action", None), "")

    def get_override_parameters(self) -> list[Any]:
        """Every POST takes an Idempotency-Key (section 17)."""
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_headers_for_code(
        self, status_code: str, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        """Section 17's headers: the budget's on every answer, `Retry-After` on a 429, and
        `Idempotent-Replayed` on a POST's (any kept answer may be replayed)."""
        headers = super()._get_response_headers_for_code(status_code, direction)
        names = ["RateLimit-Policy", "RateLimit"]
        if status_code == "429":
            names.append("Retry-After")
        if self.method == "POST" and status_code != "429" and not status_code.startswith("5"):
            names.append("Idempotent-Replayed")  # any kept answer; a 5xx is never kept
        for name in names:
            component = ResolvedComponent(
                name, ResolvedComponent.HEADER, schema=HEADERS[name], object=name
            )
            self.registry.register_on_missing(component)
            headers[name] = component.ref
        return headers

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
            schema.update(getattr(serializer, "schema_rules", {}))
        return schema

    def _get_request_for_media_type(self, serializer: Any, direction: Any = "request") -> Any:
        """A body is required when `{}` is refused: a required field, or rules across fields
        each of which requires one (a contact names at least one of three)."""
        schema, required = super()._get_request_for_media_type(serializer, direction)
        if not required and schema is not None and is_serializer(serializer):
            body = self.resolve_serializer(force_instance(serializer), direction).schema
            required = any(
                body.get(rule) and all(branch.get("required") for branch in body[rule])
                for rule in ("anyOf", "oneOf")
            )
        return schema, required

    def _map_serializer_field(
        self, field: Any, direction: Any, bypass_extensions: bool = False
    ) -> Any:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or not isinstance(schema, dict) or "$ref" in schema:
            return schema
        schema_format = getattr(field, "schema_format", None)
        if schema_format:
            schema["format"] = schema_format
        if getattr(field, "schema_not_blank", False):
            schema["pattern"] = NOT_BLANK  # kept as sent, and refused when blank
        elif (
            isinstance(field, serializers.CharField)
            and field.trim_whitespace
            and not field.allow_blank
            and "format" not in schema
            and "pattern" not in schema
        ):
            schema["pattern"] = NOT_BLANK  # "  " is trimmed to "", which is blank
        return schema

    def _get_response_bodies(
        self, direction: Literal["request", "response"] = "response"
    ) -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        errors = dict(ERRORS)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(BODY_ERRORS)
        more = IDEMPOTENCY_ERRORS if self.method == "POST" else {}
        for code in {*errors, *more}:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = errors.get(code, "")
                responses[code] = response
            responses[code]["description"] += more.get(code, "")
        return dict(sorted(responses.items()))
