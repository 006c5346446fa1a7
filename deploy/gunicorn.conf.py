"""gunicorn settings for production (`make serve-prod`); each can be overridden by the
environment variable named beside it."""

import gc
import os
import re
from pathlib import Path

bind = os.environ.get("BIND") or "127.0.0.1:8000"
# The control socket (gunicornc) is named by the address this server binds, in the project's
# var/: two servers on one host (each binds its own address) never take each other's, as
# they did with gunicorn's default of one socket per user.
_socket_name = "gunicorn-" + re.sub(r"[^\w.-]", "_", bind) + ".ctl"
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(
    Path(__file__).resolve().parent.parent / "var" / _socket_name
)
# Sync workers: each request is short and database-bound; two per core is the usual start.
workers = int(os.environ.get("WEB_CONCURRENCY") or (os.cpu_count() or 1) * 2)
worker_class = "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so that a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000
# The application writes one log line per request, with its request id (hyperrep.request),
# so gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"


def post_worker_init(worker: object) -> None:
    """The app is loaded: move what it allocated (modules, settings, URL patterns, model and
    serializer classes) into the collector's permanent generation. A page of 500 messages
    allocates enough objects to set off full collections, and each would otherwise walk every
    object of the process again: about a quarter of that page's time (bench/README.md)."""
    gc.collect()
    gc.freeze()


# Metrics (hyperrep/metrics.py): the workers write their counts into one directory, which
# /metrics adds up. A fresh, empty one for each server unless the environment names one.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    import tempfile

    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="hyperrep-metrics-")


def child_exit(server: object, worker: object) -> None:
    """A worker is gone: its live gauges leave the totals (prometheus_client multiprocess)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
