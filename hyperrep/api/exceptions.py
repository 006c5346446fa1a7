"""The error contract: every error, from every layer, is `{"detail": "<string>"}`.

Domain errors (hyperrep/errors.py, raised by services, selectors and id lookups) and DRF's
own errors go through `exception_handler`, which gives each its status; Django-level errors
(unknown paths, crashes, bad hosts) go through the `handler*` views wired in
hyperrep/urls.py; middleware answers with `error_response`.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as django_csrf_failure
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

from hyperrep import errors

logger = logging.getLogger("hyperrep.errors")

# The status of each domain error (hyperrep/errors.py).
DOMAIN_STATUS: dict[type[errors.DomainError], int] = {
    errors.InvalidValue: status.HTTP_400_BAD_REQUEST,
    errors.NotFound: status.HTTP_404_NOT_FOUND,
    errors.Conflict: status.HTTP_409_CONFLICT,
    errors.ValidationFailed: status.HTTP_422_UNPROCESSABLE_ENTITY,
}


class WriteAccessDenied(exceptions.PermissionDenied):
    default_detail = "API Key does not have write access"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "Request body is too large"


def error_response(status_code: int, detail: str) -> JsonResponse:
    return JsonResponse(
        {"detail": detail}, status=status_code, json_dumps_params={"separators": (",", ":")}
    )


def flatten_errors(detail: Any, path: str = "") -> list[str]:
    """Turn DRF's nested validation detail into `field: message` strings."""
    if isinstance(detail, dict):
        messages = []
        for key, value in detail.items():
            key = "" if key in ("non_field_errors", "__all__") else str(key)
            messages.extend(flatten_errors(value, f"{path}.{key}" if path and key else path or key))
        return messages
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [f"{path}: {item}" if path else str(item) for item in detail]
        messages = []
        for index, item in enumerate(detail):
            if item:
                messages.extend(flatten_errors(item, f"{path}[{index}]"))
        return messages
    return [f"{path}: {detail}" if path else str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.DomainError):
        return Response({"detail": exc.detail}, status=DOMAIN_STATUS[type(exc)])
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, exceptions.ValidationError):
        detail = "; ".join(flatten_errors(exc.detail)) or "Invalid input"
        return Response({"detail": detail}, status=status.HTTP_422_UNPROCESSABLE_ENTITY)
    if not isinstance(exc, exceptions.APIException):
        return None  # a crash: RequestIdMiddleware logs it and answers 500

    headers = {}
    wait = getattr(exc, "wait", None)  # set on Throttled
    if wait is not None:
        headers["Retry-After"] = str(int(wait) + 1)
    detail = exc.detail if isinstance(exc.detail, str) else "; ".join(flatten_errors(exc.detail))
    return Response({"detail": str(detail)}, status=exc.status_code, headers=headers)


# Django-level error views (hyperrep/urls.py). They never render HTML.
def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(400, "Bad request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(403, "Permission denied")


@csrf_exempt  # the catch-all route too: a POST to an unknown path is the JSON 404
def page_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "Not found")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: only the admin's forms are checked; anything else answers JSON."""
    if request.path.startswith("/admin/"):
        return django_csrf_failure(request, reason)
    return error_response(403, "CSRF verification failed")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "Internal server error")
