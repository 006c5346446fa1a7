"""gunicorn settings for production (`make serve-prod`); each can be overridden by the
environment variable named beside it."""

import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

bind = os.environ.get("BIND") or "127.0.0.1:8000"
# The control socket (gunicornc) is named by the address this server binds, in the project's
# var/: two servers on one host (each binds its own address) never take each other's, as
# they did with gunicorn's default of one socket per user.
_socket_name = "gunicorn-" + re.sub(r"[^\w.-]", "_", bind) + ".ctl"
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or str(
    Path(__file__).resolve().parent.parent / "var" / _socket_name
)
# The worker (hyperrep/serving.py): gunicorn's threaded one, except that the main loop reads
# each request whole before a thread takes it, and closes connections without blocking. A
# client that sends slowly (part of its headers, part of a body) costs a socket, not a thread:
# with sync workers, four such clients froze all four workers and /healthz took 31 s; with
# stock gthread, a thread each. Measured in bench/README.md, "Worker model and slow clients".
worker_class = "hyperrep.serving.BufferedThreadWorker"
# One process per core (two at least, so that one restarting never leaves the server without
# a worker), 4 threads each: one request's wait on PostgreSQL (the GIL is free meanwhile)
# overlaps another's Python. bench/serving.py on 2 cores, 8 clients on the contacts list, runs
# on a shared machine (bench/README.md): 2x4 served 95-153% of the requests/second of the
# former 4 sync workers (the median of each run's rounds), 4x4 91-184%, 2x8 85-210%; 2x4 was
# ahead of 4x4 in each of the four runs that had both. At 1 client all were within the noise
# (82-129%). Fewer processes use less memory, and each thread keeps a database connection
# (DATABASE_CONN_MAX_AGE): workers x threads of them per server, 8 here.
workers = int(os.environ.get("WEB_CONCURRENCY") or max(2, os.cpu_count() or 1))
threads = int(os.environ.get("WEB_THREADS") or 4)
# What bounds a request under this worker:
# - its arrival: WEB_CLIENT_TIMEOUT (15 s) for the whole request, headers and body, to come
#   in; then 15 s for any one read or write of the client's socket (a client that does not
#   read its answer);
# - the application: `timeout` seconds of Python, then hyperrep.serving.RequestTimeout is
#   raised in the request's thread and Django answers the contract's JSON 500 with its
#   X-Request-ID; the worker restarts once its other requests are done. It cannot interrupt a
#   call into C: a database query runs until PostgreSQL's statement_timeout ends it (an error
#   the application answers as a JSON 500 too). For gunicorn's master, `timeout` is also how
#   long a worker's main loop may go without a sign of life (it gives one every second).
timeout = int(os.environ.get("GUNICORN_TIMEOUT") or 30)
# On SIGTERM: stop accepting, finish the requests in flight, then exit 0. A worker still busy
# after 15 s is killed, so the server is gone within about 16 s (process managers commonly
# allow 20-30 s); a request that would run longer than that is cut off by a shutdown.
graceful_timeout = 15
# Idle kept-alive connections wait in the poller (no thread) this long for a next request.
keepalive = 5
# Recycle workers now and then so that a slow leak can never grow without bound.
max_requests = 10000
max_requests_jitter = 1000
# The application writes one log line per request, with its request id (hyperrep.request),
# so gunicorn's own access log stays off.
accesslog = None
errorlog = "-"
loglevel = (os.environ.get("LOG_LEVEL") or "info").lower()
# LOG_FORMAT=json: gunicorn's own lines (workers booting, signals, timeouts) are JSON objects
# too, in the application's shape (hyperrep/logs.py), so that every line of stderr is one.
if (os.environ.get("LOG_FORMAT") or "text").lower() == "json":
    logconfig_dict = {
        "formatters": {"json": {"()": "hyperrep.logs.JsonLineFormatter"}},
        # gunicorn puts these over its defaults' whole sections: both its handlers are named.
        "handlers": {
            name: {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stderr",
            }
            for name in ("console", "error_console")
        },
        "root": {"level": "WARNING", "handlers": []},  # the application configures its own
        "loggers": {
            "gunicorn.error": {
                "level": loglevel.upper(),
                "handlers": ["error_console"],
                "propagate": False,
                "qualname": "gunicorn.error",
            },
            # Off, as accesslog = None is without a logging config: the application writes
            # the line of each request.
            "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
        },
    }
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"


def post_worker_init(worker: object) -> None:
    """The app is loaded: move what it allocated (modules, settings, URL patterns, model and
    serializer classes) into the collector's permanent generation. A page of 500 messages
    allocates enough objects to set off full collections, and each would otherwise walk every
    object of the process again: about a quarter of that page's time (bench/README.md)."""
    gc.collect()
    gc.freeze()


# Metrics (hyperrep/metrics.py): the workers write their counts into one directory, which
# /metrics adds up. A fresh, empty one for each server unless the environment names one;
# the server removes the one it made when it exits.
_made_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _made_metrics_dir = tempfile.mkdtemp(prefix="hyperrep-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = _made_metrics_dir


def on_starting(server: object) -> None:
    """Before it binds: refuse a database migrated by a newer release (hyperrep/migration_state.py
    prints the one line why) with a non-zero exit, rather than serve over tables this release
    does not know. Checked in a process of its own, so that this master never loads
    Django (its workers are forked from it); a settings error stops the server here too, once.
    A database that cannot be reached does not stop it: /readyz says so meanwhile."""
    environment = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    try:
        check = subprocess.run(
            [sys.executable, "-m", "hyperrep.migration_state"],
            cwd=Path(__file__).resolve().parent.parent,
            env=environment,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        server.log.warning("the database's migrations were not checked: no answer in 60 s")  # type: ignore[attr-defined]
        return
    if check.returncode != 0:
        on_exit(server)
        sys.exit(check.returncode)


def on_exit(server: object) -> None:
    """The server stops: the metrics directory it made goes with it."""
    if _made_metrics_dir:
        shutil.rmtree(_made_metrics_dir, ignore_errors=True)


def child_exit(server: object, worker: object) -> None:
    """A worker is gone: its live gauges leave the totals (prometheus_client multiprocess)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]
