"""deploy/entrypoint, the image's, run on this host with the project's Python first on the
PATH (as the image has its own): each role is the process it names, and reaches it with its
arguments; web stops with 0 on SIGTERM; the health check passes a web that answers and fails
one that does not. (.ci/image runs the same roles inside the built image, and checks there
that a container whose process is not gunicorn is healthy while it runs: on a host, /proc
shows every process, the other tests' gunicorns included.)"""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.deploy import servers
from tests.deploy.servers import ROOT, wait_until_serving
from tests.helpers import free_port

ENTRYPOINT = str(ROOT / "deploy" / "entrypoint")
SECRET_KEY = "entrypoint-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"

Run = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def environment(tmp_path: Path) -> dict[str, str]:
    """An SQLite file of the test's own, the project's Python as the image's python3."""
    environment = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
        "SECRET_KEY": SECRET_KEY,
    }
    for name in ("GUNICORN_CONTROL_SOCKET", "PROMETHEUS_MULTIPROC_DIR", "BIND"):
        environment.pop(name, None)
    return environment


@pytest.fixture
def entrypoint(environment: dict[str, str], tmp_path: Path) -> Run:
    def run(*arguments: str, **extra: str) -> subprocess.CompletedProcess:
        # (from elsewhere than the project's root: the entrypoint finds the project itself)
        return servers.run([ENTRYPOINT, *arguments], {**environment, **extra}, cwd=tmp_path)

    return run


def test_migrate_then_any_manage_py_command_with_or_without_manage(entrypoint: Run) -> None:
    migrate = entrypoint("migrate")
    assert migrate.returncode == 0, migrate.stderr
    assert "Applying contacts.0001_initial... OK" in migrate.stdout
    assert entrypoint("migrate", "--check").returncode == 0

    organization = entrypoint("create_organization", "Acme Roofing")
    assert organization.returncode == 0, organization.stderr
    assert organization.stdout.startswith("org_")
    key = entrypoint(
        "manage", "create_api_key", "--organization", organization.stdout.strip(), "--name", "ci"
    )
    assert key.returncode == 0, key.stderr
    assert key.stdout.startswith("hrk_")


def test_an_unknown_command_fails_as_manage_py_does(entrypoint: Run) -> None:
    unknown = entrypoint("no_such_command")
    assert unknown.returncode == 1
    assert "Unknown command: 'no_such_command'" in unknown.stderr


def test_worker_takes_its_options(entrypoint: Run) -> None:
    assert entrypoint("migrate").returncode == 0
    worker = entrypoint("worker", "--until-idle")
    assert worker.returncode == 0, worker.stderr
    assert "stopped" in worker.stderr
    assert entrypoint("worker", "--no-such-option").returncode == 2


def test_web_serves_passes_its_health_check_and_stops_with_0_on_sigterm(
    entrypoint: Run, environment: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    bind = {"BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "1"}
    with (tmp_path / "web.log").open("wb") as log:
        web = subprocess.Popen(  # noqa: S603
            [ENTRYPOINT, "web"], env={**environment, **bind}, stdout=log, stderr=log
        )
    try:
        wait_until_serving(port, web)
        assert entrypoint("healthcheck", **bind).returncode == 0
        elsewhere = entrypoint("healthcheck", BIND=f"127.0.0.1:{free_port()}")
        assert elsewhere.returncode == 1
        assert elsewhere.stderr.startswith("/healthz: ")
        started = time.monotonic()
        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=20) == 0
        assert time.monotonic() - started < 20
    finally:
        if web.poll() is None:
            web.kill()
            web.wait()


def test_web_starts_with_every_setting_present_but_empty(
    environment: dict[str, str], tmp_path: Path
) -> None:
    """A settings file's `NAME=` line reaches the process as an empty variable (compose's
    env_file, systemd's EnvironmentFile): empty is the default, gunicorn's own
    WEB_CONCURRENCY included (gunicorn alone would stop on it)."""
    names = re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M)
    assert "WEB_CONCURRENCY" in names
    port = free_port()
    given = {
        **dict.fromkeys(names, ""),
        "SECRET_KEY": SECRET_KEY,
        "DATABASE_URL": environment["DATABASE_URL"],
        "BIND": f"127.0.0.1:{port}",
    }
    with (tmp_path / "web.log").open("wb") as log:
        web = subprocess.Popen(  # noqa: S603
            [ENTRYPOINT, "web"], env={**environment, **given}, stdout=log, stderr=log
        )
    try:
        wait_until_serving(port, web)
        web.send_signal(signal.SIGTERM)
        assert web.wait(timeout=20) == 0
    finally:
        if web.poll() is None:
            web.kill()
            web.wait()
