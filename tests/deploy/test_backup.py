"""deploy/backup and deploy/restore against a real PostgreSQL, on a database of their own (the
run's database name with `_backup`, created and dropped here): data made through the API and
the commands, a backup while gunicorn serves it, the database dropped, the backup restored
into an empty one, and the API answers byte for byte as before, to the same key; the
restored channel's transport still decrypts (a draft is delivered). A backup that fails
leaves no file; a restore into a database with tables needs --yes."""

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dj_database_url
import pytest

from tests.deploy import servers
from tests.deploy.servers import ROOT, serve
from tests.helpers import free_port

DATABASE = dj_database_url.parse(os.environ.get("DATABASE_URL") or "sqlite://")
if DATABASE["ENGINE"] != "django.db.backends.postgresql":
    pytest.skip(
        "deploy/backup and deploy/restore are for PostgreSQL (DATABASE_URL is not postgres://)",
        allow_module_level=True,
    )

for tool in ("pg_dump", "pg_restore", "psql"):
    if shutil.which(tool) is None:
        reason = f"{tool} is not installed (Debian: apt-get install postgresql-client)"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)

import psycopg  # noqa: E402  (PostgreSQL runs only)
from psycopg import sql  # noqa: E402

BACKUP = ROOT / "deploy" / "backup"
RESTORE = ROOT / "deploy" / "restore"
# Analytics over every seeded day, up to a minute that has passed (the window may not reach
# into the future).
WINDOW = f"start_date=2020-01-01T00:00:00Z&end_date={datetime.now(UTC):%Y-%m-%dT%H:%M:00Z}"


def database_url(name: str, port: int | None = None) -> str:
    user = DATABASE["USER"] or "postgres"
    password = f":{DATABASE['PASSWORD']}" if DATABASE["PASSWORD"] else ""
    host = DATABASE["HOST"] or "127.0.0.1"
    return f"postgres://{user}{password}@{host}:{port or DATABASE['PORT'] or 5432}/{name}"


def admin(statement: sql.Composed) -> None:
    with psycopg.connect(database_url("postgres"), autocommit=True, connect_timeout=10) as db:
        db.execute(statement)


def drop_and_create(name: str) -> None:
    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@pytest.fixture
def database() -> Iterator[str]:
    """A database of this test's own (not the pytest test database), dropped at the end."""
    name = f"{DATABASE['NAME']}_backup"
    drop_and_create(name)
    yield name
    admin(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def run(
    command: list[str | Path], url: str, check: bool = True, **environment: str
) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url, **environment}
    env.pop("DEBUG", None)
    result = servers.run(command, env, timeout=300)
    if check:
        assert result.returncode == 0, (command, result.stdout, result.stderr)
    return result


def manage(url: str, *arguments: str) -> str:
    return run([sys.executable, "manage.py", *arguments], url).stdout


class Client:
    def __init__(self, port: int, key: str) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.key = key

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, str, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"X-API-KEY": self.key, "Content-Type": "application/json"}
        request = urllib.request.Request(self.base + path, data, headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
                return answer.status, answer.headers["Content-Type"], answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read()

    def get(self, path: str) -> tuple[int, str, bytes]:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> dict[str, Any]:
        status, _, answer = self.request("POST", path, body)
        assert status in (200, 201), (path, status, answer)
        return json.loads(answer)


def answers(client: Client, paths: list[str]) -> dict[str, tuple[int, str, bytes]]:
    recorded = {path: client.get(path) for path in paths}
    for path, (status, _, body) in recorded.items():
        assert status == 200, (path, body)
        assert b'"next_cursor":null' in body or b"next_cursor" not in body, path  # one page
    return recorded


def test_a_backup_restored_into_an_empty_database_answers_the_api_the_same(
    database: str, tmp_path: Path
) -> None:
    url = database_url(database)
    manage(url, "migrate", "--no-input", "-v", "0")
    # An organization with agents, companies, contacts, conversations of every modality,
    # sales, and channels whose transports are stored encrypted; its key is the last line.
    key = manage(url, "seed_demo", "--messages", "200").strip().splitlines()[-1]
    port = free_port()
    with serve(tmp_path, port, DATABASE_URL=url):
        client = Client(port, key)
        organization = json.loads(client.get("/api/v2/organizations")[2])["data"][0]
        org = f"/api/v2/organizations/{organization['organization_id']}"
        contact = client.post(f"{org}/contacts", {"name": "Rita Backup", "email": "r@b.example"})
        client.post(f"{org}/companies", {"name": "Backup Roofing", "domain": "backup.example"})
        draft = client.post(
            f"{org}/message-drafts",
            {
                "modality": "email",
                "to_email": "r@b.example",
                "subject": "Your quote",
                "body_html": "<p>Here it is.</p>",
                "autosend_draft": True,
            },
        )
        manage(url, "worker", "--until-idle")  # the draft becomes a sent message
        conversations = json.loads(
            client.get(f"{org}/contacts/{contact['contact_id']}/conversations")[2]
        )
        conversation = f"{org}/conversations/{conversations['data'][0]['conversation_id']}"
        paths = [
            "/api/v2/organizations",
            org,
            f"{org}/agents?limit=500",
            f"{org}/companies?limit=500",
            f"{org}/contacts?limit=500",
            f"{org}/conversations?limit=500",
            f"{org}/sales?limit=500",
            conversation,
            f"{conversation}/messages?limit=500",
            f"{conversation}/response-drafts?limit=500",
            f"{org}/analytics/conversations?{WINDOW}",
        ]
        before = answers(client, paths)
        assert b"Here it is." in before[f"{conversation}/messages?limit=500"][2]
        assert draft["draft_id"]

        backup = run([BACKUP, "--dir", tmp_path / "backups"], url)
    [dump] = (tmp_path / "backups").iterdir()
    assert backup.stdout == f"{dump}\n"
    assert dump.name.startswith("hyperrep-")
    assert dump.suffix == ".dump"
    assert dump.read_bytes().startswith(b"PGDMP")  # pg_dump's custom format
    assert dump.stat().st_mode & 0o077 == 0  # this user's only

    drop_and_create(database)
    restore = run([RESTORE, dump], url)
    assert "restoring" in restore.stderr

    with serve(tmp_path, port, DATABASE_URL=url):
        client = Client(port, key)
        after = answers(client, paths)
        assert after == before
        # The channel's transport, encrypted with CHANNEL_SECRET_KEY, still decrypts.
        reply = client.post(
            f"{conversation}/response-drafts",
            {"body_html": "<p>Tuesday.</p>", "autosend_draft": True},
        )
        manage(url, "worker", "--until-idle")
        history = json.loads(client.get(f"{conversation}/response-drafts")[2])["data"]
        [sent] = [item for item in history if item["response_id"] == reply["response_id"]]
        assert sent["status"] == "sent", sent


def test_a_restore_into_a_database_with_tables_needs_yes(database: str, tmp_path: Path) -> None:
    url = database_url(database)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
        db.execute("CREATE TABLE note (text varchar PRIMARY KEY)")
        db.execute("INSERT INTO note VALUES ('in the backup')")
        dump = Path(run([BACKUP, "--dir", tmp_path], url).stdout.strip())
        db.execute("INSERT INTO note VALUES ('made after the backup')")

        refused = run([RESTORE, dump], url, check=False)
        assert refused.returncode == 1
        assert refused.stderr == (
            f"deploy/restore: {url} is not empty (1 tables); --yes replaces them with the "
            "backup's (stop web and worker first)\n"
        )
        assert db.execute("SELECT count(*) FROM note").fetchone() == (2,)

        run([RESTORE, "--yes", dump], url)
        assert db.execute("SELECT text FROM note").fetchall() == [("in the backup",)]


def test_a_backup_of_an_unreachable_database_fails_and_leaves_no_file(tmp_path: Path) -> None:
    nothing_listens = free_port()
    result = run(
        [BACKUP, "--dir", tmp_path / "backups"], database_url("nothing", nothing_listens), False
    )
    assert result.returncode != 0
    assert "pg_dump failed; no backup was written" in result.stderr
    assert result.stdout == ""
    assert list((tmp_path / "backups").iterdir()) == []


def test_a_dump_that_fails_half_way_leaves_no_file(database: str, tmp_path: Path) -> None:
    """pg_dump has written most of the dump when the command fails: nothing of it stays."""
    url = database_url(database)
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as db:
        db.execute(
            "CREATE TABLE note AS SELECT repeat('x', 1000) AS text FROM generate_series(1, 1000)"
        )
    failing = "sh -c 'pg_dump \"$@\" && exit 3' pg_dump"
    result = run([BACKUP, "--dir", tmp_path / "backups"], url, False, PG_DUMP=failing)
    assert result.returncode != 0
    assert list((tmp_path / "backups").iterdir()) == []


def test_the_password_goes_to_pg_dump_in_the_environment_not_the_command_line(
    tmp_path: Path,
) -> None:
    """What the command is given, seen by a PG_DUMP that writes its arguments and PGPASSWORD
    (a dump needs only standard output)."""
    show = 'sh -c \'printf "%s\\n" "$@" "PGPASSWORD=$PGPASSWORD"\' pg_dump'
    url = "postgres://hyperrep:p%40ss%2Fw%5Cord@db.internal:5433/hyperrep?sslmode=require"
    result = run([BACKUP, "--dir", tmp_path], url, PG_DUMP=show)
    lines = Path(result.stdout.strip()).read_text().splitlines()
    assert lines == [
        "--format=custom",
        "--no-password",
        "--dbname=postgres://hyperrep@db.internal:5433/hyperrep?sslmode=require",
        "PGPASSWORD=p@ss/w\\ord",
    ]


def test_keep_deletes_all_but_the_newest_backups(tmp_path: Path) -> None:
    for stamp in ("20260101T000000Z", "20260102T000000Z", "20260103T000000Z"):
        (tmp_path / f"hyperrep-{stamp}.dump").write_bytes(b"PGDMP old")
    show = "sh -c 'echo PGDMP' pg_dump"
    result = run([BACKUP, "--dir", tmp_path, "--keep", "2"], "postgres://h/db", PG_DUMP=show)
    newest = Path(result.stdout.strip())
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "hyperrep-20260103T000000Z.dump",
        newest.name,
    ]
