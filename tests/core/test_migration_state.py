"""A database migrated by a newer release (hyperrep/migration_state.py): django_migrations
records a migration of one of the project's apps that this code does not have. The worker and
`migrate` refuse it (web's refusal, which runs this module before gunicorn serves, is run for
real in tests/deploy/test_migrate.py); an older database is not refused."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations import Migration
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder

from hyperrep import migration_state
from hyperrep.migration_state import (
    DatabaseFromNewerRelease,
    refuse_a_newer_database,
    unknown_applied_migrations,
)

pytestmark = pytest.mark.django_db

FUTURE = ("contacts", "9999_from_the_future")


@pytest.fixture
def recorder() -> MigrationRecorder:
    return MigrationRecorder(connection)


def test_a_database_at_this_release_is_not_refused() -> None:
    assert unknown_applied_migrations(connection) == []
    refuse_a_newer_database(connection)


def test_a_migration_of_the_project_this_release_does_not_have_is_refused(
    recorder: MigrationRecorder,
) -> None:
    recorder.record_applied(*FUTURE)
    assert unknown_applied_migrations(connection) == ["contacts.9999_from_the_future"]
    with pytest.raises(DatabaseFromNewerRelease) as refusal:
        refuse_a_newer_database(connection)
    assert str(refusal.value) == (
        "The database was migrated by a newer release of HyperRep server than this one: it "
        "has contacts.9999_from_the_future, which this release does not. Run the newer "
        "release, or restore the backup taken before the upgrade."
    )


def test_the_refusal_names_three_and_counts_the_rest(recorder: MigrationRecorder) -> None:
    for number in range(9991, 9996):
        recorder.record_applied("webhooks", f"{number}_later")
    with pytest.raises(DatabaseFromNewerRelease, match=r"it has webhooks\.9991_later, "):
        refuse_a_newer_database(connection)
    with pytest.raises(DatabaseFromNewerRelease, match=r"webhooks\.9993_later and 2 more, "):
        refuse_a_newer_database(connection)


def test_an_older_database_is_not_refused(recorder: MigrationRecorder) -> None:
    """Migrations not applied yet are /readyz's business (503), not a refusal to start."""
    recorder.record_unapplied("webhooks", "0002_delivery_request_id")
    assert unknown_applied_migrations(connection) == []


def test_another_apps_migrations_are_not_the_projects_to_judge(
    recorder: MigrationRecorder,
) -> None:
    recorder.record_applied("auth", "9999_from_a_later_django")
    assert unknown_applied_migrations(connection) == []


def test_a_migration_a_squashed_one_of_this_release_replaces_is_known(
    recorder: MigrationRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a squash, the database still records the migrations it replaced; a release that
    ships only the squashed one knows them through its `replaces`."""

    class Squashed(Migration):
        replaces = [FUTURE]

    squashed = Squashed("0001_squashed_9999", "contacts")

    class LoaderWithASquash(MigrationLoader):
        def load_disk(self) -> None:
            super().load_disk()
            self.disk_migrations[("contacts", squashed.name)] = squashed

    recorder.record_applied(*FUTURE)
    assert unknown_applied_migrations(connection) == ["contacts.9999_from_the_future"]
    monkeypatch.setattr(migration_state, "MigrationLoader", LoaderWithASquash)
    assert unknown_applied_migrations(connection) == []


def test_the_worker_refuses_a_newer_database(recorder: MigrationRecorder) -> None:
    recorder.record_applied(*FUTURE)
    with pytest.raises(CommandError, match=r"^The database was migrated by a newer release"):
        call_command("worker", "--until-idle")


def test_migrate_refuses_a_newer_database(recorder: MigrationRecorder) -> None:
    recorder.record_applied(*FUTURE)
    with pytest.raises(CommandError, match=r"contacts\.9999_from_the_future"):
        call_command("migrate", verbosity=0)


def test_migrate_prune_deletes_the_records_this_release_does_not_have(
    recorder: MigrationRecorder,
) -> None:
    """--prune (after a squash) is the operator saying these records are to go: not refused."""
    recorder.record_applied(*FUTURE)
    call_command("migrate", "contacts", prune=True, verbosity=0)
    applied = recorder.applied_migrations()
    assert FUTURE not in applied
    assert ("contacts", "0001_initial") in applied
