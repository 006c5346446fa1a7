"""Django's `migrate`, one at a time per database, and never over a newer release's database.

Two migrates at once (two hosts deploying, a Job retried beside a rolling update) would each
plan the same migrations, and the second would fail on a table the first just created. So
the whole run holds a lock: on PostgreSQL an advisory lock, on SQLite a lock on a file beside
the database (SQLite serves one host). A migrate that finds the lock taken waits for it, at
most --lock-wait seconds, then applies what is left, usually nothing.

Then, before migrating, it refuses a database migrated by a newer release
(hyperrep/migration_state.py), as web and the worker do; `--prune` (which deletes the
records of migrations this code does not have, after a squash) is the one exception.
`--plan` and `--check` only read, and take no lock."""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from django.core.management.base import CommandError, CommandParser, OutputWrapper
from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import DatabaseError, connections
from django.db.backends.sqlite3.creation import DatabaseCreation as SQLiteCreation

from hyperrep.migration_state import DatabaseFromNewerRelease, refuse_a_newer_database

# The key of the advisory lock every migrate of this project takes: "HyperRep" in ASCII.
LOCK_KEY = 0x4879_7065_7252_6570
POLL_SECONDS = 1.0


class Command(DjangoMigrate):
    help = (
        "Apply the migrations, one migrate at a time per database (two at once are safe); "
        "refuses a database migrated by a newer release."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--lock-wait",
            type=float,
            default=900.0,
            help="seconds to wait for another migrate of this database (default %(default)s)",
        )

    def execute(self, *args: Any, **options: Any) -> Any:
        # The lock is taken before Django's system checks, which connect too: on SQLite, a
        # connection opening while another migrate writes may fail with "database is locked".
        if options["plan"] or options["check_unapplied"]:
            return super().execute(*args, **options)
        waiting = self.stderr if options["verbosity"] >= 1 else None
        with migration_lock(options["database"], wait_seconds=options["lock_wait"], say=waiting):
            return super().execute(*args, **options)

    def handle(self, *args: Any, **options: Any) -> None:
        if not (options["plan"] or options["check_unapplied"] or options["prune"]):
            try:
                refuse_a_newer_database(connections[options["database"]])
            except DatabaseFromNewerRelease as refusal:
                raise CommandError(str(refusal)) from None
        super().handle(*args, **options)


@contextmanager
def migration_lock(
    alias: str, *, wait_seconds: float, say: OutputWrapper | TextIO | None = None
) -> Iterator[None]:
    """Hold this database's migration lock for the block (waiting at most `wait_seconds`)."""
    connection = connections[alias]
    if connection.vendor == "postgresql":
        with _advisory_lock(alias, wait_seconds, say):
            yield
    elif connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if SQLiteCreation.is_in_memory_db(name):  # a test database: one process only
            yield
            return
        with _file_lock(Path(f"{name}.migrate-lock"), wait_seconds, say):
            yield
    else:
        yield


def _wait(try_once: Any, wait_seconds: float, say: OutputWrapper | TextIO | None) -> None:
    deadline = time.monotonic() + wait_seconds
    if try_once():
        return
    if say is not None:
        say.write(
            f"Another migrate of this database is running: waiting for it to finish "
            f"(at most {wait_seconds:g} s)."
        )
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        if try_once():
            return
    raise CommandError(
        f"Another migrate of this database has held its lock for over {wait_seconds:g} s; "
        f"not migrating (wait for it, or give --lock-wait more seconds)."
    )


@contextmanager
def _advisory_lock(
    alias: str, wait_seconds: float, say: OutputWrapper | TextIO | None
) -> Iterator[None]:
    """A transaction-level advisory lock, held by a transaction left open on a connection of
    its own for the whole run: the migrations commit on the default connection meanwhile,
    and the lock goes when this transaction ends, or when its connection does (a migrate
    killed mid-way holds nothing).

    Why not pg_advisory_lock (a session lock) on the default connection: behind PgBouncer in
    transaction mode, each transaction may run on another server connection, so a session
    lock would be taken on one server connection, released (or not) on another, and could
    outlive this process on a pooled connection. An open transaction keeps its server
    connection, which makes this lock hold behind PgBouncer too. (The migrations themselves
    are better run against PostgreSQL directly, or a session-mode pool: a statement_timeout
    set on the role for PgBouncer would cut a long migration short.)"""
    lock_connection = connections.create_connection(alias)
    try:
        lock_connection.set_autocommit(False)

        with lock_connection.cursor() as cursor:
            # The transaction is idle while the migrations run: a server-wide idle timeout
            # must not end it (and the lock) early. SET LOCAL ends with the transaction.
            cursor.execute("SET LOCAL idle_in_transaction_session_timeout = 0")

        def try_once() -> bool:
            with lock_connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
                row = cursor.fetchone()
            return bool(row and row[0])

        _wait(try_once, wait_seconds, say)
        yield
    finally:
        with suppress(DatabaseError):  # a lost connection holds no lock either
            lock_connection.rollback()
        lock_connection.close()


@contextmanager
def _file_lock(
    path: Path, wait_seconds: float, say: OutputWrapper | TextIO | None
) -> Iterator[None]:
    """An exclusive flock on `path`: released when the file is closed, or the process ends."""
    with path.open("a") as lock_file:

        def try_once() -> bool:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait(try_once, wait_seconds, say)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
