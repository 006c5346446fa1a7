"""The error contract: every error, from every layer, is `{"detail": "<string>"}`.

Domain errors (hyperrep/errors.py, raised by services, selectors and id lookups) and DRF's
own errors go through `exception_handler`, which gives each its status; Django-level errors
(unknown paths, crashes, bad hosts) go through the `handler*` views wired in
hyperrep/urls.py; middleware answers with `error_response`. A database that does not
answer, from whichever layer notices, is `503 Service unavailable` with `Retry-After`,
logged once a second however many requests it turns away: an outage is not a bug of each
request, and a traceback apiece would bury the log.
"""

import logging
import sys
import threading
import time
from typing import Any, cast

import psycopg
from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
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


class RateLimitExceeded(exceptions.APIException):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = "Rate limit exceeded"


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


# Seconds a client is asked to wait while the database is away (a restart takes about one).
OUTAGE_RETRY_AFTER = 2


class _OutageLog:
    """One warning a second while the database is away, with how many it stands for."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.next_line = 0.0
        self.unlogged = 0

    def record(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self.lock:
            if now < self.next_line:
                self.unlogged += 1
                return
            self.next_line, unlogged, self.unlogged = now + 1, self.unlogged, 0
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        logger.warning(
            "database unavailable, answering 503 (%d more since the last line): %s",
            unlogged,
            reason,
        )


outage_log = _OutageLog()


def database_unavailable(exc: BaseException) -> JsonResponse | None:
    """The 503 for an error that means the database did not answer (down, restarting,
    unreachable, or SQLite's file locked too long); None for any other error. A query
    cancelled by its statement timeout is the request's own failure: a 500."""
    if not isinstance(exc, (OperationalError, InterfaceError)):
        return None
    if isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
        return None
    outage_log.record(exc)
    response = error_response(503, "Service unavailable")
    response["Retry-After"] = str(OUTAGE_RETRY_AFTER)
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    unavailable = database_unavailable(exc)
    if unavailable is not None:
        return cast(Response, unavailable)
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

    detail = exc.detail if isinstance(exc.detail, str) else "; ".join(flatten_errors(exc.detail))
    return Response({"detail": str(detail)}, status=exc.status_code)


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
    """handler500: what a middleware's crash comes to (a view's is RequestIdMiddleware's)."""
    exc = sys.exc_info()[1]
    return (exc and database_unavailable(exc)) or error_response(500, "Internal server error")
