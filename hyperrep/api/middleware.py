"""Request-wide plumbing that runs before any view.

RequestIdMiddleware gives every request an id (the client's when sane), writes the one log
line of the request, turns any crash into the JSON 500, and marks every answer that did not
say otherwise `Cache-Control: no-store` (they carry personal data). BodyFramingMiddleware
refuses a body the server would otherwise misread, before reading any of it. Input is
checked later, after authentication: the body by the parser (hyperrep/api/parsers.py), ids
by hyperrep/ids.py, the query string by hyperrep/api/filters.py.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.core.exceptions import DisallowedHost, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.encoding import escape_uri_path

from hyperrep.api.exceptions import error_response

request_log = logging.getLogger("hyperrep.request")
current_request_id: ContextVar[str] = ContextVar("current_request_id", default="-")

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record, so every line names its request."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _SANE_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = current_request_id.set(request_id)
        started = time.perf_counter()
        try:
            response: HttpResponse
            try:
                request.get_host()  # here, so that DEBUG=1 never answers it with HTML
            except DisallowedHost:
                response = error_response(400, "Bad request")
            else:
                response = self.get_response(request)
            response["X-Request-ID"] = request_id
            response.headers.setdefault("Cache-Control", "no-store")
            request_log.info(
                "%s %s %s %.1fms",
                request.method,
                escape_uri_path(request.path),  # percent-encoded: one request, one line
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            return response
        finally:
            current_request_id.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (Http404, PermissionDenied, SuspiciousOperation)):
            return None  # Django's handler404/403/400 answer these, in JSON
        request_log.error("unhandled exception", exc_info=exception)
        return error_response(500, "Internal server error")


class BodyFramingMiddleware:
    """A body sent in chunks (no Content-Length) would reach Django as empty: it is `411`,
    not a misleading 422. A declared Content-Length above API_MAX_BODY_BYTES (for inbound
    email, INBOUND_EMAIL_MAX_BYTES) is `413` before any byte of the body is read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return error_response(411, "Content-Length required")
        declared = request.META.get("CONTENT_LENGTH") or "0"
        if not declared.isdigit():
            return error_response(400, "Invalid Content-Length")
        limit = settings.API_MAX_BODY_BYTES
        if request.path.startswith("/inbound/email/"):
            limit = settings.INBOUND_EMAIL_MAX_BYTES
        if int(declared) > limit:
            return error_response(413, f"Request body is larger than {limit} bytes")
        return self.get_response(request)
