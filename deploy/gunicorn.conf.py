"""gunicorn settings for production (`make serve-prod`); each can be overridden by the
environment variable named beside it."""

import os

bind = os.environ.get("BIND") or "127.0.0.1:8000"
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
