"""Prometheus metrics (docs/metrics.md): the metric objects, the small functions the rest of
the code counts with, `GET /metrics`, and the worker's own metrics server.

- Requests: the request middleware calls `observe_request(method, route_of(request), status,
  seconds)` where it writes the request's log line. A route is the URL pattern that matched
  (`api/v2/organizations/<organization_id>/contacts`), never the path, so that the labels
  stay few; a request no pattern took is `unmatched`.
- Database queries: every statement of every connection (web and worker, every thread),
  counted by a wrapper that `install()` puts on each connection as it is created.
- Outbox attempts: `hyperrep.outbox.claims.record()` decides each recorded attempt's
  outcome (`succeeded`, `retrying`, `failed`) and has the row's handler count it:
  `count_delivery` (drafts), `count_webhook_attempt`, `count_inbound_event`.
- Rate limiter: `count_rate_limiter_failure()` when the limiter's store (Redis) fails and
  the request is let through.
- The age of the oldest due row of each outbox table, read at scrape time (one indexed
  query a table) by the web's `/metrics` only.

Under gunicorn the workers share PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py sets a
fresh one when the environment names none): every process writes its counts there, and
`/metrics`, whichever worker answers, adds them up. Without it (runserver, tests, the
worker) the process's own registry is served. The worker (`manage.py worker
--metrics-port N`) serves its own counts on 127.0.0.1:N/metrics, under the same rule.
"""

import functools
import hmac
import ipaddress
import json
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.exposition import ThreadingWSGIServer, make_wsgi_app
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("hyperrep.metrics")

# prometheus_client chooses multiprocess mode by this variable when it is first imported.
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR" in os.environ
UNMATCHED = "unmatched"
STATIC = "static"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# An API's latencies: 1 ms to 10 s.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTCOMES = ("succeeded", "retrying", "failed")

REQUESTS = Counter(
    "hyperrep_http_requests",
    "HTTP requests answered, by method, route (the URL pattern) and status code.",
    ["method", "route", "status"],
)
REQUEST_SECONDS = Histogram(
    "hyperrep_http_request_duration_seconds",
    "Time to answer an HTTP request, by method, route and status code.",
    ["method", "route", "status"],
    buckets=BUCKETS,
)
DB_QUERIES = Counter(
    "hyperrep_db_queries",
    "SQL statements run through Django's cursors, by database alias.",
    ["alias"],
)
DELIVERIES = Counter(
    "hyperrep_deliveries",
    "Draft delivery attempts recorded, by channel (email, text) and outcome (succeeded; "
    "retrying: failed, another attempt is scheduled; failed: given up).",
    ["channel", "outcome"],
)
WEBHOOK_ATTEMPTS = Counter(
    "hyperrep_webhook_attempts",
    "Webhook delivery attempts recorded, by outcome (succeeded, retrying, failed).",
    ["outcome"],
)
INBOUND_EVENTS = Counter(
    "hyperrep_inbound_events",
    "Inbound event processing attempts recorded, by source and outcome.",
    ["source", "outcome"],
)
RATE_LIMITER_FAILURES = Counter(
    "hyperrep_rate_limiter_failures",
    "Tries of the rate limiter's store (Redis) that failed: requests then go uncounted (fail "
    "open), and the store is tried again about once a second per process.",
)
for _outcome in OUTCOMES:  # at 0 from the start, so that rate() sees the first one
    WEBHOOK_ATTEMPTS.labels(_outcome)
    for _channel in ("email", "text"):
        DELIVERIES.labels(_channel, _outcome)


# --- Requests -------------------------------------------------------------------------------
_GROUP = re.compile(r"\(\?P<(\w+)>")
_CONVERTER = re.compile(r"<\w+:(\w+)>")


@functools.lru_cache(maxsize=4096)
def route_label(route: str) -> str:
    """A resolved route written as a path pattern: `(?P<id>[^/]+)` and `<path:id>` become
    `<id>`, anchors, escapes and the optional trailing slash go; the catch-all is
    `unmatched`."""
    out, position = [], 0
    for group in _GROUP.finditer(route):  # skip each named group's regex, parentheses paired
        if group.start() < position:
            continue
        out.append(route[position : group.start()] + f"<{group.group(1)}>")
        depth, position = 1, group.end()
        while position < len(route) and depth:
            char = route[position]
            if char == "\\":
                position += 1
            elif char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
            position += 1
    out.append(route[position:])
    label = _CONVERTER.sub(r"<\1>", "".join(out))
    label = label.replace("^", "").replace("$", "").replace("/?", "").replace("\\", "")
    return label.strip("/") or UNMATCHED


def route_of(request: HttpRequest) -> str:
    """The request's route label: the URL pattern that matched it (`unmatched` when none did,
    e.g. an answer from a middleware; `static` for a static file)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return STATIC if request.path.startswith(_static_prefix()) else UNMATCHED
    if match.url_name == UNMATCHED:  # the catch-all routes' JSON 404 (hyperrep/urls.py)
        return UNMATCHED
    return route_label(match.route or "")


@functools.cache
def _static_prefix() -> str:
    return "/" + settings.STATIC_URL.lstrip("/")


_request_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its time (seconds, from when the request came in)."""
    key = (method if method in METHODS else "other", route, status)
    series = _request_series.get(key)
    if series is None:
        labels = (key[0], route, str(status))
        series = _request_series[key] = (
            REQUESTS.labels(*labels),
            REQUEST_SECONDS.labels(*labels),
        )
    series[0].inc()
    series[1].observe(seconds)


# --- Database queries -----------------------------------------------------------------------
def _count_queries(connection: BaseDatabaseWrapper) -> None:
    if getattr(connection, "_metrics_counter", None) in connection.execute_wrappers:
        return
    inc = DB_QUERIES.labels(connection.alias).inc

    def counted(
        execute: Callable[..., Any], sql: Any, params: Any, many: bool, context: Any
    ) -> Any:
        inc()
        return execute(sql, params, many, context)

    connection._metrics_counter = counted  # type: ignore[attr-defined]
    # First, so that a caller's `with connection.execute_wrapper(…)`, which pops the last
    # one when it ends, never takes this one off.
    connection.execute_wrappers.insert(0, counted)


def _connection_created(sender: object, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    _count_queries(connection)


def install() -> None:
    """Count the queries of every connection from now on (the outbox app's ready())."""
    connection_created.connect(_connection_created, dispatch_uid="hyperrep.metrics")
    for connection in connections.all(initialized_only=True):
        _count_queries(connection)


# --- Outbox attempts, the rate limiter --------------------------------------------------------
def count_delivery(channel: str, outcome: str) -> None:
    """One recorded attempt to deliver a draft: `succeeded`, `retrying` or `failed`."""
    DELIVERIES.labels(channel, outcome).inc()


def count_webhook_attempt(outcome: str) -> None:
    """One recorded webhook delivery attempt: `succeeded`, `retrying` or `failed`."""
    WEBHOOK_ATTEMPTS.labels(outcome).inc()


def count_inbound_event(source: str, outcome: str) -> None:
    """One recorded attempt to process an inbound event."""
    INBOUND_EVENTS.labels(source, outcome).inc()


def count_rate_limiter_failure() -> None:
    """The rate limiter could not count a request (its store failed) and let it through."""
    RATE_LIMITER_FAILURES.inc()


# --- Scrape time: the oldest due row of each outbox table ----------------------------------------
class OutboxAge(Collector):
    """`hyperrep_outbox_oldest_due_age_seconds{table}`: how long the oldest row that is due
    (next_attempt_at has passed, claimed by a worker or not) has been; 0 when none is. One
    query a table, on its due index (`ORDER BY next_attempt_at LIMIT 1`)."""

    def describe(self) -> Iterable[Metric]:
        return []  # registering it queries nothing

    def collect(self) -> Iterator[Metric]:
        from hyperrep.outbox.worker import HANDLERS  # (the apps register them when loaded)

        family = GaugeMetricFamily(
            "hyperrep_outbox_oldest_due_age_seconds",
            "Seconds since the oldest due row of each outbox table fell due (0: none is due).",
            labels=["table"],
        )
        now = timezone.now()
        for handler in HANDLERS:
            model = handler.model
            try:
                oldest = (
                    model.objects.unscoped()  # type: ignore[attr-defined]  # every organization
                    .filter(next_attempt_at__lte=now)
                    .order_by("next_attempt_at")
                    .values_list("next_attempt_at", flat=True)
                    .first()
                )
            except DatabaseError:
                log.warning("metrics: the oldest due %s could not be read", model._meta.db_table)
                continue
            age = (now - oldest).total_seconds() if oldest is not None else 0.0
            family.add_metric([model._meta.db_table], max(age, 0.0))
        yield family


_scrape_time = CollectorRegistry(auto_describe=False)
_scrape_time.register(OutboxAge())


def render(*, outbox: bool = True) -> bytes:
    """The text exposition: every process's counts (multiprocess mode) or this process's,
    and with `outbox` the outbox ages, read now."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        text = generate_latest(registry)
    else:
        text = generate_latest(REGISTRY)
    return text + generate_latest(_scrape_time) if outbox else text


# --- Who may read them ------------------------------------------------------------------------
def refusal(authorization: str, remote_addr: str) -> tuple[int, str] | None:
    """(status, detail) when the client may not read the metrics, else None. With
    METRICS_TOKEN: `Authorization: Bearer <token>`, compared in constant time (absent: 401
    `Missing metrics token`; another: 401 `Invalid metrics token`). Without it: loopback
    clients only (others: 403 `Permission denied`)."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = authorization.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return 401, "Missing metrics token"
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return 401, "Invalid metrics token"
        return None
    try:
        if ipaddress.ip_address(remote_addr.split("%", 1)[0]).is_loopback:
            return None
    except ValueError:
        pass
    return 403, "Permission denied"


def _refused(status: int, detail: str) -> HttpResponse:
    response = HttpResponse(json.dumps({"detail": detail}), status=status)
    response["Content-Type"] = "application/json"
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@csrf_exempt
def metrics_view(request: HttpRequest) -> HttpResponse:
    """GET /metrics: the Prometheus text format (not in the OpenAPI schema)."""
    if request.method not in ("GET", "HEAD"):
        response = _refused(405, f'Method "{request.method}" not allowed.')
        response["Allow"] = "GET, HEAD"
        return response
    refused = refusal(request.headers.get("Authorization", ""), request.META.get("REMOTE_ADDR", ""))
    if refused:
        return _refused(*refused)
    return HttpResponse(render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


# --- The worker's own metrics server ----------------------------------------------------------
class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(host: str, port: int) -> ThreadingWSGIServer:
    """Serve this process's counts at http://host:port/metrics (a daemon thread), under the
    rule of `/metrics`; the server, to shut down. For the worker, which has no web server."""
    exposition = make_wsgi_app(REGISTRY)

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") != "/metrics":
            refused: tuple[int, str] | None = (404, "Not found")
        else:
            refused = refusal(environ.get("HTTP_AUTHORIZATION", ""), environ.get("REMOTE_ADDR", ""))
        if refused is None:
            return exposition(environ, start_response)
        status, detail = refused
        reason = {401: "Unauthorized", 403: "Forbidden", 404: "Not Found"}[status]
        headers = [("Content-Type", "application/json")]
        if status == 401:
            headers.append(("WWW-Authenticate", 'Bearer realm="metrics"'))
        start_response(f"{status} {reason}", headers)
        return [json.dumps({"detail": detail}).encode()]

    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]

    class Server(ThreadingWSGIServer):
        address_family = family

    server = make_server(host, port, app, Server, handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
