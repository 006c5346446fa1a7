"""Where the database stands against this release's migrations.

Migrated by a newer release than this code: django_migrations holds a migration of one of
the project's apps that this release does not have. Web
(deploy/gunicorn.conf.py runs `python -m hyperrep.migration_state` before it serves), the
worker and `migrate` refuse to start then: the newer release's tables are not what this
code reads and writes.

An older database (migrations not yet applied) is not refused: web then serves, with
/readyz answering 503 until `migrate` ran (hyperrep/health.py), and the worker waits for it
(hyperrep/outbox/worker.py).

`python -m hyperrep.migration_state` prints one line and exits 2 when the database is newer;
it exits 0 when it is not, and also when the database cannot be reached (web then starts and
/readyz says so)."""

import sys

from django.apps import apps
from django.db import DatabaseError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

# The project's own apps; Django's and the libraries' migrations are theirs to manage.
PROJECT_PACKAGES = ("apps.", "hyperrep.")


class DatabaseFromNewerRelease(Exception):
    pass


def project_app_labels() -> set[str]:
    return {
        config.label
        for config in apps.get_app_configs()
        if config.name.startswith(PROJECT_PACKAGES)
    }


def unknown_applied_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    """`app.name` of each migration of the project's apps that the database records as applied
    and this code does not have (sorted). A migration a squashed one of this code replaces is
    known. Raises DatabaseError when the database cannot be read."""
    recorder = MigrationRecorder(connection)
    if not recorder.has_table():
        return []
    labels = project_app_labels()
    applied = [key for key in recorder.applied_migrations() if key[0] in labels]
    on_disk = MigrationLoader(None, ignore_no_migrations=True).disk_migrations
    known = set(on_disk)
    for migration in on_disk.values():
        known.update(migration.replaces)
    return sorted(f"{app}.{name}" for app, name in applied if (app, name) not in known)


def unapplied_migrations(connection: BaseDatabaseWrapper) -> list[str]:
    """`app.name` of each migration of this release the database has not applied, in the
    order `migrate` would apply them. Raises DatabaseError when the database cannot be read."""
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]


def named(migrations: list[str]) -> str:
    """The first three, and how many more: for one line of a log or an answer."""
    more = f" and {len(migrations) - 3} more" if len(migrations) > 3 else ""
    return ", ".join(migrations[:3]) + more


def refuse_a_newer_database(connection: BaseDatabaseWrapper) -> None:
    """Raise DatabaseFromNewerRelease, with a message for the operator, when the database was
    migrated by a newer release."""
    unknown = unknown_applied_migrations(connection)
    if unknown:
        raise DatabaseFromNewerRelease(
            f"The database was migrated by a newer release of HyperRep server than this one: "
            f"it has {named(unknown)}, which this release does not. Run the newer release, or "
            f"restore the backup taken before the upgrade."
        )


def main() -> int:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hyperrep.settings")
    django.setup()
    from django.db import connection

    if connection.vendor == "postgresql":
        # An unreachable server fails within seconds; web then starts (/readyz says why).
        connection.settings_dict.setdefault("OPTIONS", {}).setdefault("connect_timeout", 10)
    try:
        refuse_a_newer_database(connection)
    except DatabaseFromNewerRelease as refusal:
        print(f"hyperrep: refusing to start: {refusal}", file=sys.stderr)
        return 2
    except DatabaseError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"hyperrep: could not read the database's migrations ({reason})", file=sys.stderr)
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
