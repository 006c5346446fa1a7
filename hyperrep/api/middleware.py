"""Request-wide plumbing that runs before any view.

RequestIdMiddleware gives every request an id (the client's when sane), writes the one log
line of the request and counts it in the metrics (by its route: the URL pattern), turns any
crash into the JSON 500 (a database that does not answer into the 503), and marks every
answer that did not say otherwise `Cache-Control: no-store` (they carry personal data).
BodyFramingMiddleware refuses a body the server would otherwise misread, before reading any
of it. Input is checked later, after authentication: the body by the parser
(hyperrep/api/parsers.py), ids by hyperrep/ids.py, the query string by hyperrep/api/filters.py.
"""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import DisallowedHost, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import resolve
from django.utils.encoding import escape_uri_path

from hyperrep import logs, metrics
from hyperrep.api.exceptions import database_unavailable, error_response

request_log = logging.getLogger("hyperrep.request")

_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,128}")
# Answered whatever the request's Host, straight by their routes (no other middleware: none
# of them serves these): a kubelet, a load balancer, the image's health check or a scraper
# names the address it reaches (a pod's IP), not a host in ALLOWED_HOSTS. Nothing they answer
# depends on the host.
ANY_HOST = frozenset({"/healthz", "/healthz/", "/readyz", "/readyz/", "/metrics", "/metrics/"})


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        supplied = request.headers.get("X-Request-ID", "")
        request_id = supplied if _SANE_REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = logs.request_id.set(request_id)
        started = time.perf_counter()
        try:
            response: HttpResponse
            if request.path_info in ANY_HOST:
                response = by_route(request)
            else:
                try:
                    request.get_host()  # here, so that DEBUG=1 never answers it with HTML
                except DisallowedHost:
                    response = error_response(400, "Bad request")
                else:
                    response = self.get_response(request)
            response["X-Request-ID"] = request_id
            response.headers.setdefault("Cache-Control", "no-store")
            seconds = time.perf_counter() - started
            route = metrics.route_of(request)
            metrics.observe_request(request.method or "", route, response.status_code, seconds)
            path = escape_uri_path(request.path)  # percent-encoded: one request, one line
            request_log.info(
                "%s %s %s %.1fms",
                request.method,
                path,
                response.status_code,
                seconds * 1000,
                extra={
                    "method": request.method,
                    "path": path,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 2),
                    # Set by the API once it knows them (hyperrep/api/viewsets.py); never the
                    # key itself, nor any body.
                    "organization_id": getattr(request, "organization_id", None),
                    "key_prefix": getattr(request, "key_prefix", None),
                },
            )
            return response
        finally:
            logs.request_id.reset(token)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (Http404, PermissionDenied, SuspiciousOperation)):
            return None  # Django's handler404/403/400 answer these, in JSON
        unavailable = database_unavailable(exception)
        if unavailable is not None:
            return unavailable
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


def by_route(request: HttpRequest) -> HttpResponse:
    """The answer of the view that `request.path_info` is routed to (hyperrep/urls.py)."""
    match = resolve(request.path_info)
    request.resolver_match = match  # its route, for the request's log line and metrics
    response = match.func(request, *match.args, **match.kwargs)
    if hasattr(response, "render"):  # DRF's, rendered as Django's handler would
        response.render()
    # (as CommonMiddleware would: without it, gunicorn sends the answer chunked)
    if not response.streaming and not response.has_header("Content-Length"):
        response["Content-Length"] = str(len(response.content))
    return response
