"""The two commands as an operator runs them: arguments, stdin/stdout, output, exit status."""

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection, connections

from apps.conversations.models import Conversation
from apps.organizations.models import Organization
from apps.transfer.exporter import export_lines
from tests.factories import ConversationFactory, MessageFactory
from tests.transfer.helpers import FIXTURE, ORG_ID, export_bytes, import_file

pytestmark = pytest.mark.django_db


def test_import_reports_what_it_read() -> None:
    assert import_file(FIXTURE) == (
        "Imported 22 lines: 1 organization, 2 agents, 2 companies, 3 contacts, "
        "3 conversations, 6 messages, 5 sales\n"
    )


def test_import_from_stdin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(FIXTURE.read_bytes())))
    assert import_file("-").startswith("Imported 22 lines")
    assert export_bytes(tmp_path) == FIXTURE.read_bytes()


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "spaced.jsonl"
    path.write_text(FIXTURE.read_text(encoding="utf-8").replace("\n", "\n\n"), encoding="utf-8")
    assert import_file(path).startswith("Imported 22 lines")


def test_import_of_a_missing_file() -> None:
    with pytest.raises(CommandError, match="No such file"):
        import_file("/nonexistent/acme.jsonl")


def test_empty_file_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert import_file(tmp_path / "empty.jsonl") == "Imported 0 lines\n"
    assert not Organization.objects.exists()


def test_export_to_stdout_is_the_same_text() -> None:
    import_file(FIXTURE)
    out = io.StringIO()
    call_command("export_data", "--organization", ORG_ID, stdout=out)
    assert out.getvalue() == FIXTURE.read_text(encoding="utf-8")


def test_export_of_an_unknown_organization(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such organization: org_nope"):
        call_command("export_data", "--organization", "org_nope", "-o", str(tmp_path / "x"))


def test_export_requires_the_organization() -> None:
    with pytest.raises(CommandError, match="--organization"):
        call_command("export_data")


def test_export_file_is_utf8_not_escaped(tmp_path: Path) -> None:
    import_file(FIXTURE)
    exported = export_bytes(tmp_path)
    assert "Zürich".encode() in exported
    assert b"\\u" not in exported


def test_a_bad_file_exits_non_zero_with_the_line_on_stderr(tmp_path: Path) -> None:
    """The real process: exit status and stderr. The bad line comes first, so no table is
    needed and an empty SQLite file will do."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"type": "organization", "organization_id": "org_x", "name": "X"\n')
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "import_data", "-"],
        cwd=settings.BASE_DIR,
        input=bad.read_bytes(),
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stdout == b""
    assert b"line 1: invalid JSON: " in result.stderr


@pytest.mark.django_db(transaction=True)
def test_export_reads_one_snapshot_while_rows_are_written() -> None:
    """A conversation and its message written while the file streams are in neither section,
    so the file still imports (PostgreSQL: REPEATABLE READ; without it, the conversations
    section could miss a conversation whose message the messages section then includes)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite's in-memory test database has no second writer")
    import_file(FIXTURE)
    organization = Organization.objects.get(public_id=ORG_ID)
    lines = export_lines(organization)
    before = [next(lines), next(lines)]  # the organization, then the first agent: a query ran

    def write() -> None:
        try:
            conversation = ConversationFactory.create(organization=organization)
            MessageFactory.create(conversation=conversation)
        finally:
            connections.close_all()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join()
    exported = before + list(lines)
    assert exported == FIXTURE.read_text(encoding="utf-8").splitlines()
    assert Conversation.objects.for_org(organization).count() > sum(
        '"type":"conversation"' in line for line in exported
    )
