"""HyperRep server settings, driven by environment variables (see .env.example and README.md).

Defaults are production-safe: DEBUG is off and SECRET_KEY must be given. `make run` switches on
the development conveniences explicitly (DEBUG=1 and a development-only SECRET_KEY).
"""

import os
import re
from pathlib import Path

import dj_database_url
import phonenumbers
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 0 or 1, not {value!r}")


def env_str(name: str, default: str) -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def env_int(name: str, default: int) -> int:
    value = env_str(name, str(default))
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


def env_rate(name: str, default: str) -> str:
    """A budget such as `1200/minute` (the `limits` library's notation), or "0" for none."""
    value = env_str(name, default).strip()
    if value != "0" and not re.fullmatch(r"\d+\s*/\s*(\d+\s*)?(second|minute|hour|day)s?", value):
        raise ImproperlyConfigured(f"{name} must look like 1200/minute (or be 0), not {value!r}")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it to a long random string (see .env.example); "
        "`make run` and `make test` set a development-only value for you."
    )
# API keys are stored as HMAC-SHA256 digests keyed with this secret. It defaults to SECRET_KEY;
# set it separately to rotate SECRET_KEY without invalidating every API key.
API_KEY_SECRET = env_str("API_KEY_SECRET", SECRET_KEY)

# The key channel transports (their credentials) are encrypted with. Default: derived from
# SECRET_KEY; set it to rotate SECRET_KEY without re-entering every channel's transport.
CHANNEL_SECRET_KEY = env_str("CHANNEL_SECRET_KEY", SECRET_KEY)


def refuse_weak_secret(name: str, value: str) -> None:
    """Without DEBUG, a secret Django's check --deploy would call weak (security.W009: under 50
    characters, under 5 distinct ones, or Django's "django-insecure-" placeholder) stops the
    process at start rather than signing sessions and HMAC'ing API keys with it."""
    if len(value) >= 50 and len(set(value)) >= 5 and not value.startswith("django-insecure-"):
        return
    raise ImproperlyConfigured(
        f"{name} is too weak for a server without DEBUG=1: it needs at least 50 characters, "
        f"at least 5 of them distinct (this one has {len(value)}, {len(set(value))} distinct). "
        'Make one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )


# Only SECRET_KEY: a server that ran with a short one moves to a long one by keeping the old
# value as API_KEY_SECRET and CHANNEL_SECRET_KEY, so that its API keys and channel credentials
# keep working (docs/production.md, "Upgrading from a short SECRET_KEY").
if not DEBUG:
    refuse_weak_secret("SECRET_KEY", SECRET_KEY)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "hyperrep.admin.AdminConfig",  # django.contrib.admin, with our site (hyperrep/admin.py)
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.organizations",
    "apps.keys",
    "apps.agents",
    "apps.companies",
    "apps.contacts",
    "apps.conversations",
    "apps.sales",
    "apps.drafts",
    "apps.analytics",
    "apps.transfer",
    "apps.delivery",
    "apps.inbound",
    "apps.webhooks",
    "apps.idempotency",
    "apps.demo",
    "hyperrep.outbox",
    "hyperrep",  # its management commands: migrate under a lock (hyperrep/management)
]

MIDDLEWARE = [
    "hyperrep.api.middleware.RequestIdMiddleware",
    "hyperrep.api.middleware.BodyFramingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hyperrep.urls"
CSRF_FAILURE_VIEW = "hyperrep.api.exceptions.csrf_failure"
WSGI_APPLICATION = "hyperrep.wsgi.application"
# API paths accept an optional trailing slash themselves; never redirect.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
SQLITE_DEFAULT = f"sqlite:///{BASE_DIR / 'var' / 'hyperrep.sqlite3'}"
# On PostgreSQL, a web process's query runs at most this many seconds (0: no limit); the
# request then fails with the JSON 500 instead of holding its thread (hyperrep/wsgi.py).
DATABASE_STATEMENT_TIMEOUT = env_int("DATABASE_STATEMENT_TIMEOUT", 30)
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", SQLITE_DEFAULT),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers run beside one writer; IMMEDIATE takes the write lock up front so
        # concurrent writers wait (busy timeout) instead of failing mid-transaction.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
elif env_bool("DATABASE_PREPARED_STATEMENTS", False):
    # Parameters bound on the server, and a statement prepared there on a connection's 6th
    # run of it (psycopg's default threshold, said here since Django's default is none):
    # PostgreSQL stops parsing and planning the lists' few queries anew. Off by default: a
    # pooler in transaction mode must track prepared statements itself (PgBouncer 1.22+
    # with max_prepared_statements; docs/deployment.md).
    DATABASES["default"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["hyperrep.formats"]  # the admin's compact dates

# --- Delivery (apps/delivery, hyperrep/outbox) ---------------------------------------------
# The server's public base URL (https://hyperrep.example.com): links in emails go out through
# PUBLIC_URL/l/<id> to count clicks, and providers call back under it. Unset: neither.
PUBLIC_URL = env_str("PUBLIC_URL", "").rstrip("/")
# A draft's attempts before it fails: transient failures are retried with exponential backoff
# over about six hours.
DELIVERY_MAX_ATTEMPTS = env_int("DELIVERY_MAX_ATTEMPTS", 8)
# How long a worker holds the rows it claimed: a batch starts no attempt after half of it, and
# every network call has a timeout of seconds, so only a dead worker's rows are claimed again.
OUTBOX_LEASE_SECONDS = env_int("OUTBOX_LEASE_SECONDS", 60)

# --- Phone numbers -------------------------------------------------------------------------
# National numbers (without a +country code) are read as numbers of this region (ISO 3166).
DEFAULT_PHONE_REGION = env_str("DEFAULT_PHONE_REGION", "US").upper()
if DEFAULT_PHONE_REGION not in phonenumbers.SUPPORTED_REGIONS:
    raise ImproperlyConfigured(
        f"DEFAULT_PHONE_REGION must be a two-letter region code such as US, not "
        f"{DEFAULT_PHONE_REGION!r}"
    )

# --- Static files (admin and the API docs page), served by WhiteNoise --------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # No manifest: the admin and /api/docs must render even where collectstatic never ran.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the installed apps when STATIC_ROOT has not been collected.
WHITENOISE_USE_FINDERS = True

# --- Security -------------------------------------------------------------------------------
# docs/production.md ("HTTPS") has the production values; `manage.py check --deploy` is clean
# with them.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
# The admin's CSRF token is read from the form, never by JavaScript.
CSRF_COOKIE_HTTPONLY = True
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# Plain-http requests are redirected (301) to https, except the probes and the metrics: a
# kubelet, a load balancer or a scraper calls them over http inside the cluster (they are
# answered before any of this, hyperrep/api/middleware.py). Off by
# default: the TLS proxy usually redirects, and a server with no https in front would
# answer nothing but redirects. Behind a proxy, the proxy must say https
# (TRUST_X_FORWARDED_PROTO=1, or FORWARDED_ALLOW_IPS for gunicorn), else every request loops.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Strict-Transport-Security, sent on https answers only: browsers then refuse plain http to
# this host for that long, and a mistake cannot be taken back before it expires. So it is on
# by default (one year) only where SECURE_SSL_REDIRECT=1 says this host is https-only; a
# plain-http test deployment never sends it. Subdomains and preloading are separate choices:
# they reach beyond this host (every subdomain; browsers' built-in lists, for months).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000 if SECURE_SSL_REDIRECT else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
if SECURE_HSTS_SECONDS < 0:
    raise ImproperlyConfigured("SECURE_HSTS_SECONDS must be 0 or more")
REFERRER_POLICIES = {
    "no-referrer",
    "no-referrer-when-downgrade",
    "origin",
    "origin-when-cross-origin",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
    "unsafe-url",
}
SECURE_REFERRER_POLICY = env_str("SECURE_REFERRER_POLICY", "same-origin")
if SECURE_REFERRER_POLICY not in REFERRER_POLICIES:
    raise ImproperlyConfigured(
        f"SECURE_REFERRER_POLICY must be one of {', '.join(sorted(REFERRER_POLICIES))}, "
        f"not {SECURE_REFERRER_POLICY!r}"
    )
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

# The largest request body the API accepts; larger ones get 413.
API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 1024 * 1024)
# Inbound: the largest raw email (attachments included) and form; a token's budget.
INBOUND_EMAIL_MAX_BYTES = env_int("INBOUND_EMAIL_MAX_BYTES", 25 * 1024 * 1024)
INBOUND_FORM_MAX_BYTES = env_int("INBOUND_FORM_MAX_BYTES", 64 * 1024)
INBOUND_RATE_LIMIT = env_rate("INBOUND_RATE_LIMIT", "600/minute")

# --- Production traffic: budgets and the shared counters ------------------------------------
# Redis (redis://host:6379/0) holds the rate-limit counters every app server shares; without
# it each process counts alone (the embedded default). When Redis fails the API keeps serving.
REDIS_URL = env_str("REDIS_URL", "")
# Requests per API key and organization ("0": no limit), and admin login attempts per address.
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "1200/minute")
ADMIN_LOGIN_RATE_LIMIT = env_rate("ADMIN_LOGIN_RATE_LIMIT", "10/minute")
# Webhooks: http:// endpoints, and endpoints on loopback, private or link-local addresses,
# are refused unless these are set (for a receiver on a trusted network, or in tests).
WEBHOOKS_ALLOW_HTTP = env_bool("WEBHOOKS_ALLOW_HTTP", False)
WEBHOOKS_ALLOW_PRIVATE_NETWORKS = env_bool("WEBHOOKS_ALLOW_PRIVATE_NETWORKS", False)
# Stored inbound events (raw bodies) older than this are deleted by the worker.
INBOUND_RETENTION_DAYS = env_int("INBOUND_RETENTION_DAYS", 30)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, INBOUND_EMAIL_MAX_BYTES)

# --- Metrics (GET /metrics, docs/metrics.md) ------------------------------------------------
# The bearer token a scraper must send; unset: only loopback clients may read them.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- API ------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["hyperrep.api.authentication.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["hyperrep.api.authentication.HasApiKeyAccess"],
    "DEFAULT_PARSER_CLASSES": ["hyperrep.api.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["hyperrep.api.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "hyperrep.api.negotiation.JSONOnlyNegotiation",
    "DEFAULT_METADATA_CLASS": "hyperrep.api.negotiation.Metadata",
    "DEFAULT_PAGINATION_CLASS": "hyperrep.api.pagination.KeysetPagination",
    "DEFAULT_FILTER_BACKENDS": ["hyperrep.api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "hyperrep.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "hyperrep.api.exceptions.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "UNICODE_JSON": True,
    "COMPACT_JSON": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "HyperRep API v2",
    "DESCRIPTION": (
        "Self-hosted HyperRep API v2. Authenticate every request with the `X-API-KEY` header. "
        'Every error is `{"detail": "..."}`.'
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The reference is public: it documents the API, it does not call it.
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v2",
    "PREPROCESSING_HOOKS": ["hyperrep.api.schema.document_paths_without_trailing_slash"],
    "ENUM_NAME_OVERRIDES": {
        "MessageModalityEnum": "apps.conversations.models.Modality",
        # A draft's modality (email or text): without a name of its own it collides with the
        # analytics' Modality object and gets a hashed name (and check --deploy a warning).
        "DraftModalityEnum": "apps.drafts.models.DraftModality",
        "ChannelKindEnum": "apps.organizations.models.ChannelKind",
    },
}

# --- Logging: one line per request, each line carrying the request id --------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# `text` (a line for people) or `json` (one JSON object a line, for a log pipeline).
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "hyperrep.logs.RequestIdLogFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "hyperrep.logs.JsonLineFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Our request log replaces Django's own (which would log every 4xx a second time).
        "django.request": {"handlers": ["console"], "level": "CRITICAL", "propagate": False},
        # runserver's own line per request repeats ours (and every 4xx as a warning).
        "django.server": {"handlers": ["console"], "level": "ERROR", "propagate": False},
    },
}
