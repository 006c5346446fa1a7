"""`manage.py migrate` run for real against a fresh database of the configured kind
(PostgreSQL: `test_<name>_migrate` beside the test database; SQLite: a file): two at once
(two hosts deploying) both succeed and apply each migration once, a migrate waits for the
lock a bounded time, and web (gunicorn) and the worker refuse a database migrated by a newer
release with one line and a non-zero exit."""

import fcntl
import os
import select
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import dj_database_url
import psycopg
import pytest

from hyperrep.management.commands.migrate import LOCK_KEY
from tests.deploy.servers import ROOT, run
from tests.helpers import free_port

SECRET_KEY = "migrate-test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass
class FreshDatabase:
    vendor: str
    url: str
    config: dict[str, Any]
    runs: list[subprocess.CompletedProcess]

    def environment(self, **extra: str) -> dict[str, str]:
        return {**os.environ, "DATABASE_URL": self.url, "SECRET_KEY": SECRET_KEY, **extra}

    def manage(self, *arguments: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return run([sys.executable, "manage.py", *arguments], self.environment(), timeout=timeout)

    @contextmanager
    def sql(self) -> Iterator[Any]:
        """A cursor on the database, committing each statement."""
        if self.vendor == "postgresql":
            with psycopg.connect(**pg_parameters(self.config), autocommit=True) as connection:
                yield connection.cursor()
        else:
            with closing(sqlite3.connect(self.config["NAME"], timeout=20)) as db:
                db.isolation_level = None  # autocommit
                yield db.cursor()


def pg_parameters(config: dict[str, Any], dbname: str | None = None) -> dict[str, Any]:
    return {
        "host": config["HOST"] or None,
        "port": config["PORT"] or None,
        "user": config["USER"] or None,
        "password": config["PASSWORD"] or None,
        "dbname": dbname or config["NAME"],
        "connect_timeout": 10,
    }


def migrate_at_once(database: "FreshDatabase", count: int) -> list[subprocess.CompletedProcess]:
    """`count` migrates started together; each one's outcome."""
    started = [
        subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--no-input"],
            cwd=ROOT,
            env=database.environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    runs = []
    for process in started:
        try:
            stdout, stderr = process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
        runs.append(subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr))
    return runs


@contextmanager
def empty_database(
    tmp_path_factory: pytest.TempPathFactory, suffix: str
) -> Iterator[FreshDatabase]:
    """A database of its own, with nothing in it, beside the test database (dropped after)."""
    configured = dj_database_url.parse(os.environ.get("DATABASE_URL") or "sqlite:///unused")
    if configured["ENGINE"] == "django.db.backends.postgresql":
        name = f"test_{configured['NAME']}_{suffix}"
        config = {**configured, "NAME": name}
        auth = quote(str(config["USER"] or ""), safe="")
        if config["PASSWORD"]:
            auth += ":" + quote(str(config["PASSWORD"]), safe="")
        url = f"postgres://{auth}@{config['HOST']}:{config['PORT'] or 5432}/{name}"
        with psycopg.connect(**pg_parameters(config, "postgres"), autocommit=True) as server:
            server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            server.execute(f'CREATE DATABASE "{name}"')
        fresh = FreshDatabase("postgresql", url, config, [])
    else:
        path = tmp_path_factory.mktemp(suffix) / "db.sqlite3"
        fresh = FreshDatabase("sqlite", f"sqlite:///{path}", {"NAME": str(path)}, [])
    try:
        yield fresh
    finally:
        if fresh.vendor == "postgresql":
            with psycopg.connect(**pg_parameters(config, "postgres"), autocommit=True) as server:
                server.execute(f'DROP DATABASE IF EXISTS "{config["NAME"]}" WITH (FORCE)')


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FreshDatabase]:
    """A fresh database, migrated by two migrates started at the same time."""
    with empty_database(tmp_path_factory, "migrate") as fresh:
        fresh.runs = migrate_at_once(fresh, 2)
        yield fresh


def test_a_worker_started_before_migrate_waits_for_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A new release's worker rolled out beside its migrate Job: it says it waits, and goes to
    work once migrate has run (with --until-idle: then exits 0, nothing being due)."""
    with empty_database(tmp_path_factory, "unmigrated") as fresh:
        worker = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "--until-idle"],
            cwd=ROOT,
            env=fresh.environment(),
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert worker.stderr is not None
            deadline, logged = time.monotonic() + 60, ""
            while "waiting for migrate" not in logged:
                assert time.monotonic() < deadline, logged
                assert worker.poll() is None, logged
                if select.select([worker.stderr], [], [], 1)[0]:
                    logged += worker.stderr.readline()
            assert "migrations not applied: " in logged
            assert fresh.manage("migrate", "--no-input").returncode == 0
            assert worker.wait(timeout=60) == 0
            assert "Traceback" not in logged + worker.stderr.read()
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()


def test_two_migrates_at_once_both_succeed_and_apply_each_migration_once(
    database: FreshDatabase,
) -> None:
    for migrate in database.runs:
        assert migrate.returncode == 0, migrate.stderr
        assert "Traceback" not in migrate.stderr
    # They overlapped: one waited for the other's lock, then had nothing left to apply.
    waited = [m for m in database.runs if "Another migrate of this database" in m.stderr]
    assert len(waited) == 1, [m.stderr for m in database.runs]
    assert "No migrations to apply." in waited[0].stdout
    with database.sql() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        recorded = cursor.fetchall()
    assert len(recorded) == len(set(recorded))
    assert ("contacts", "0001_initial") in recorded
    check = database.manage("migrate", "--check")
    assert check.returncode == 0, check.stdout + check.stderr


@contextmanager
def lock_held(database: FreshDatabase) -> Iterator[None]:
    """The migration lock, as another migrate holding it would."""
    if database.vendor == "postgresql":
        with database.sql() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
            yield
    else:
        with open(f"{database.config['NAME']}.migrate-lock", "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            yield


def test_a_migrate_waits_for_the_lock_at_most_lock_wait_seconds(database: FreshDatabase) -> None:
    with lock_held(database):
        started = time.monotonic()
        run = database.manage("migrate", "--no-input", "--lock-wait", "2")
        waited = time.monotonic() - started
    assert run.returncode == 1
    assert "waiting for it to finish (at most 2 s)" in run.stderr
    assert run.stderr.strip().endswith(
        "CommandError: Another migrate of this database has held its lock for over 2 s; not "
        "migrating (wait for it, or give --lock-wait more seconds)."
    )
    assert 2 <= waited < 30
    assert database.manage("migrate", "--no-input", "--lock-wait", "2").returncode == 0


@pytest.fixture
def from_a_newer_release(database: FreshDatabase) -> Iterator[FreshDatabase]:
    with database.sql() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) "
            "VALUES ('contacts', '9999_from_the_future', CURRENT_TIMESTAMP)"
        )
    try:
        yield database
    finally:
        with database.sql() as cursor:
            cursor.execute("DELETE FROM django_migrations WHERE name = '9999_from_the_future'")


REFUSAL = (
    "The database was migrated by a newer release of HyperRep server than this one: it has "
    "contacts.9999_from_the_future, which this release does not. Run the newer release, or "
    "restore the backup taken before the upgrade."
)


def test_web_refuses_a_database_from_a_newer_release_with_one_line(
    from_a_newer_release: FreshDatabase,
) -> None:
    environment = from_a_newer_release.environment(BIND=f"127.0.0.1:{free_port()}")
    environment.pop("GUNICORN_CONTROL_SOCKET", None)
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    web = run(
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "hyperrep.wsgi"],
        environment,
        timeout=60,
    )
    assert web.returncode == 2
    assert "Traceback" not in web.stderr
    lines = [line for line in web.stderr.splitlines() if "Starting gunicorn" not in line]
    assert lines == [f"hyperrep: refusing to start: {REFUSAL}"]


def test_the_worker_refuses_a_database_from_a_newer_release_with_one_line(
    from_a_newer_release: FreshDatabase,
) -> None:
    worker = from_a_newer_release.manage("worker", "--until-idle", timeout=60)
    assert worker.returncode == 1
    assert worker.stderr.strip() == f"CommandError: {REFUSAL}"


def test_web_starts_on_a_database_this_release_migrated(database: FreshDatabase) -> None:
    """The check itself passes a database at this release (and its absence of a newer
    migration is what the refusals above are measured against)."""
    check = run(
        [sys.executable, "-m", "hyperrep.migration_state"], database.environment(), timeout=60
    )
    assert (check.returncode, check.stderr) == (0, "")
