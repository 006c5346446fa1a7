"""`X-API-KEY` authentication and the write-access check.

Authentication runs before anything else in a request (DRF's `initial()`), so a request
with no key and a malformed organization id is `403 Missing API Key`.
"""

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from apps.keys.models import ApiKey
from apps.keys.services import KeyRejected, api_key_authenticate
from apps.organizations.models import Organization
from hyperrep.api.exceptions import WriteAccessDenied


class ApiKeyAuthentication(BaseAuthentication):
    # No authenticate_header(): DRF then answers authentication failures with 403, as the
    # contract says.

    # The organization the route names, when the key reaches it: it comes with the key, in
    # one query (api_key_authenticate); the view resolves it otherwise (OrganizationScopedViewSet).
    organization: Organization | None = None

    def authenticate(self, request: Request) -> tuple[None, ApiKey]:
        plaintext = request.META.get("HTTP_X_API_KEY", "").strip()
        if not plaintext:
            raise AuthenticationFailed("Missing API Key")
        route = request.parser_context.get("kwargs", {})
        try:
            key, self.organization = api_key_authenticate(
                plaintext, organization_id=route.get("organization_id")
            )
        except KeyRejected as rejected:
            raise AuthenticationFailed(str(rejected)) from None
        return None, key


class OptionalApiKeyAuthentication(ApiKeyAuthentication):
    """For answers that need no key but are counted against its budget when there is one
    (an unknown path under /api/v2): a missing or rejected key is no key."""

    def authenticate(self, request: Request) -> tuple[None, ApiKey] | None:  # type: ignore[override]
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            return None


class HasApiKeyAccess(BasePermission):
    """A valid key is required; read-only keys may only read."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):  # a view that dropped the authentication class
            raise AuthenticationFailed("Missing API Key")
        if key.read_only and request.method not in SAFE_METHODS:
            raise WriteAccessDenied()
        return True
