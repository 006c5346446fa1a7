"""The production settings: `manage.py check --deploy` is clean with the documented production
environment (docs/production.md, "HTTPS"), a weak SECRET_KEY stops the process unless DEBUG=1,
HSTS follows the SSL redirect unless set, and the redirect spares the probes and the metrics."""

import os
import runpy
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.deploy.servers import ROOT, run

STRONG_KEY = "Vd1kq3wXh0Pz-8sT2mYcL9rN4fB6gJ5aE7uQ_oK1iW3xZ8vR2nM0pS6tY4hD9jF5"
# Every variable these tests set, or whose value in the caller's environment would change
# what they check.
CONTROLLED = (
    "DEBUG",
    "SECRET_KEY",
    "API_KEY_SECRET",
    "CHANNEL_SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "DATABASE_PREPARED_STATEMENTS",
    "SECURE_COOKIES",
    "TRUST_X_FORWARDED_PROTO",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_REFERRER_POLICY",
)
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": STRONG_KEY,
    "ALLOWED_HOSTS": "hyperrep.example.com",
    "TRUST_X_FORWARDED_PROTO": "1",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
}


def manage(tmp_path: Path, *arguments: str, **environment: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'check.sqlite3'}"
    env.update(environment)
    return run([sys.executable, "manage.py", *arguments], env)


def load_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **environment: str
) -> dict[str, Any]:
    """hyperrep/settings.py run afresh under `environment` (the rest of CONTROLLED unset)."""
    for name in CONTROLLED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'settings.sqlite3'}")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "hyperrep" / "settings.py"))


def test_check_deploy_is_clean_with_the_documented_production_environment(
    tmp_path: Path,
) -> None:
    result = manage(tmp_path, "check", "--deploy", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in result.stderr


def test_check_deploy_names_what_a_plain_http_deployment_lacks(tmp_path: Path) -> None:
    """The defaults without DEBUG: no redirect and no HSTS (a plain-http deployment keeps
    working), which check --deploy points out, and nothing else."""
    environment = {"DEBUG": "0", "SECRET_KEY": STRONG_KEY, "ALLOWED_HOSTS": "h.example.com"}
    result = manage(tmp_path, "check", "--deploy", **environment)
    assert result.returncode == 0, result.stderr
    assert "security.W004" in result.stderr  # SECURE_HSTS_SECONDS
    assert "security.W008" in result.stderr  # SECURE_SSL_REDIRECT
    assert "System check identified 2 issues (0 silenced)." in result.stderr


@pytest.mark.parametrize(
    ("key", "length", "distinct"),
    [("too-short-for-production", 24, 13), ("ab" * 40, 80, 2)],
    ids=["short", "few distinct characters"],
)
def test_a_weak_secret_key_stops_the_process_without_debug(
    tmp_path: Path, key: str, length: int, distinct: int
) -> None:
    result = manage(tmp_path, "check", DEBUG="0", SECRET_KEY=key)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line == (
        "django.core.exceptions.ImproperlyConfigured: SECRET_KEY is too weak for a server "
        "without DEBUG=1: it needs at least 50 characters, at least 5 of them distinct (this "
        f"one has {length}, {distinct} distinct). Make one with: "
        'python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )


def test_debug_keeps_a_short_development_key_working(tmp_path: Path) -> None:
    result = manage(tmp_path, "check", DEBUG="1", SECRET_KEY="dev")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_generated_key_the_message_suggests_is_accepted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    key = secrets.token_urlsafe(50)
    assert load_settings(monkeypatch, tmp_path, SECRET_KEY=key)["SECRET_KEY"] == key


def test_a_former_short_key_can_stay_the_api_key_and_channel_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """How a server that ran with a short SECRET_KEY upgrades without losing its API keys
    and channel credentials (docs/production.md)."""
    loaded = load_settings(
        monkeypatch, tmp_path, SECRET_KEY=STRONG_KEY, API_KEY_SECRET="old", CHANNEL_SECRET_KEY="old"
    )
    assert (loaded["API_KEY_SECRET"], loaded["CHANNEL_SECRET_KEY"]) == ("old", "old")


def test_djangos_placeholder_key_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    placeholder = "django-insecure-" + STRONG_KEY
    with pytest.raises(ImproperlyConfigured, match=r"^SECRET_KEY is too weak"):
        load_settings(monkeypatch, tmp_path, SECRET_KEY=placeholder)


def test_without_debug_cookies_are_secure_and_nothing_redirects_by_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    loaded = load_settings(monkeypatch, tmp_path, SECRET_KEY=STRONG_KEY)
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_SSL_REDIRECT"] is False
    assert loaded["SECURE_HSTS_SECONDS"] == 0
    assert loaded["SECURE_REFERRER_POLICY"] == "same-origin"
    assert "SECURE_PROXY_SSL_HEADER" not in loaded


def test_hsts_is_a_year_once_the_redirect_is_on_unless_set(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    redirect = {"SECRET_KEY": STRONG_KEY, "SECURE_SSL_REDIRECT": "1"}
    loaded = load_settings(monkeypatch, tmp_path, **redirect)
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert loaded["SECURE_HSTS_PRELOAD"] is False
    loaded = load_settings(monkeypatch, tmp_path, **redirect, SECURE_HSTS_SECONDS="300")
    assert loaded["SECURE_HSTS_SECONDS"] == 300
    loaded = load_settings(monkeypatch, tmp_path, **PRODUCTION)
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is True


def test_prepared_statements_only_when_asked_for_and_only_on_postgresql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def options(**environment: str) -> dict[str, Any]:
        loaded = load_settings(monkeypatch, tmp_path, SECRET_KEY=STRONG_KEY, **environment)
        options: dict[str, Any] = loaded["DATABASES"]["default"].get("OPTIONS", {})
        return options

    postgresql = "postgres://hyperrep@postgres.internal:5432/hyperrep"
    assert options(DATABASE_URL=postgresql) == {}  # Django's default: client-side binding
    assert options(DATABASE_URL=postgresql, DATABASE_PREPARED_STATEMENTS="1") == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert "server_side_binding" not in options(DATABASE_PREPARED_STATEMENTS="1")  # SQLite
    with pytest.raises(ImproperlyConfigured, match=r"^DATABASE_PREPARED_STATEMENTS must be 0 or 1"):
        options(DATABASE_URL=postgresql, DATABASE_PREPARED_STATEMENTS="sometimes")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS must be 0 or more"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS must be a whole number"),
        ({"SECURE_SSL_REDIRECT": "maybe"}, "SECURE_SSL_REDIRECT must be 0 or 1"),
        ({"SECURE_REFERRER_POLICY": "never"}, "SECURE_REFERRER_POLICY must be one of"),
    ],
)
def test_a_bad_security_setting_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: dict[str, str], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=f"^{message}"):
        load_settings(monkeypatch, tmp_path, SECRET_KEY=STRONG_KEY, **environment)


@pytest.fixture
def redirecting(settings: Any) -> Client:
    """A client of a server with SSL redirect and HSTS on (the middleware reads them when the
    client's first request builds it)."""
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    return Client()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/healthz", "/healthz/", "/readyz", "/metrics"])
def test_the_probes_and_the_metrics_answer_over_plain_http(redirecting: Client, path: str) -> None:
    answer = redirecting.get(path, secure=False)
    assert answer.status_code == 200
    assert "Strict-Transport-Security" not in answer  # never on plain http


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v2/organizations", "/admin/", "/api/docs", "/metricsx"])
def test_everything_else_over_plain_http_is_redirected_to_https(
    redirecting: Client, path: str
) -> None:
    answer = redirecting.get(path, {"limit": "5"}, secure=False)
    assert answer.status_code == 301
    assert answer["Location"] == f"https://testserver{path}?limit=5"


@pytest.mark.django_db
def test_over_https_the_api_answers_with_hsts(redirecting: Client, api_key: str) -> None:
    answer = redirecting.get("/api/v2/organizations", secure=True, headers={"X-API-KEY": api_key})
    assert answer.status_code == 200
    assert answer["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.django_db
def test_behind_the_proxy_its_https_header_counts(
    redirecting: Client, settings: Any, api_key: str
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    headers = {"X-Forwarded-Proto": "https", "X-API-KEY": api_key}
    answer = redirecting.get("/api/v2/organizations", headers=headers)
    assert answer.status_code == 200
    assert answer["Strict-Transport-Security"] == "max-age=31536000"
