"""The contacts-list benchmark, end to end, in under two minutes on 2 cores:

    .venv/bin/python -m bench.contacts_list [--seconds 4] [--rounds 5]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench; its name must contain "bench", as it is
   dropped), migrates it and seeds it (bench/seed_contacts.py).
2. Walks the large organization's contacts through the API, 50 a page, to page 2,000, and
   runs EXPLAIN (ANALYZE, BUFFERS) on the SQL the API sent for page 1 and for page 2,000.
3. Checks that the floor view (bench/floor.py) sends the API's SQL and answers the API's bytes.
4. Starts gunicorn (deploy/gunicorn.conf.py, settings bench.settings) on a free loopback port,
   loads `GET .../contacts?limit=100` of the API and of the floor with 1 and 8 clients, in
   alternating rounds, and stops it.
5. Profiles the API view in-process (cProfile) to show where a request's time goes.
6. Appendix: adds an organization whose 5,000 contacts share one created_at and compares
   page 1 with page 100 of it.

Results go to bench/results/contacts_list.md; gunicorn's log to bench/results/gunicorn.log.tmp.
SECRET_KEY defaults to a random value: everything that needs it runs under this script.
"""

import argparse
import cProfile
import http.client
import json
import logging
import os
import platform
import pstats
import secrets
import socket
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django
import psycopg
from psycopg import sql

from bench import load
from bench.seed_contacts import LARGE, NEWEST, Seeded

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench"
WALK_LIMIT = 50
WALK_PAGES = 2000
LOAD_LIMIT = 100
CLIENTS = (1, 8)
EXPLAIN_REPEATS = 200
TIES = 5_000
TIE_PAGES = 100


def main() -> None:
    parser = argparse.ArgumentParser(description="Contacts-list benchmark (PostgreSQL).")
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=5, help="load runs per target and level")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(32))
    os.environ["DEBUG"] = "0"
    # No collectstatic here, and the API serves no static files: WhiteNoise's warning is noise.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    started = time.monotonic()
    _recreate_database(os.environ["DATABASE_URL"])
    django.setup()
    # In this process the per-request log lines would only drown the progress messages.
    logging.getLogger("hyperrep.request").setLevel(logging.WARNING)
    from django.core.management import call_command

    from bench.seed_contacts import seed

    lines = [f"# Contacts list benchmark: results\n\n{_machine()}\n"]
    call_command("migrate", verbosity=0)
    seeded = seed()
    _say(f"seeded {seeded.contacts} contacts")
    lines += _page_costs(seeded)
    lines += _same_queries(seeded)
    with _gunicorn() as port:
        lines += _loads(port, seeded, seconds=args.seconds, rounds=args.rounds)
    lines += _profile(seeded)
    lines += _tie_pages(seeded)
    lines.append(f"Whole run: {time.monotonic() - started:.0f} s.\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "contacts_list.md").write_text("\n".join(lines))
    _say(f"wrote {RESULTS / 'contacts_list.md'}")


# -- 1. database --------------------------------------------------------------------------------


def _recreate_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the benchmark database's name has 'bench'")
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# -- 2. page 1 against page 2,000 ---------------------------------------------------------------


def _page_costs(seeded: Seeded) -> list[str]:
    from apps.contacts.models import Contact

    path = f"/api/v2/organizations/{seeded.organization_id}/contacts"
    sqls, last_ids = _walk(seeded, path, WALK_PAGES)
    # The keyset walk lands on the rows OFFSET would (99,951..100,000), so on the right page.
    offset = (WALK_PAGES - 1) * WALK_LIMIT
    expected = list(
        Contact.objects.filter(organization__public_id=seeded.organization_id)
        .order_by("-created_at", "-id")
        .values_list("public_id", flat=True)[offset : offset + WALK_LIMIT]
    )
    assert last_ids == expected, "page 2,000 of the cursor walk is not rows 99,951..100,000"
    return [
        f"## Page 1 against page {WALK_PAGES:,} (limit {WALK_LIMIT})\n",
        f"The SQL is what the API sent for each page while a client walked the cursors "
        f"(`GET /api/v2/organizations/{{org}}/contacts?limit={WALK_LIMIT}`, then "
        f"`&cursor=<next_cursor>`) of the organization with {LARGE:,} contacts; page "
        f"{WALK_PAGES:,} holds the same rows as `OFFSET {offset:,}` (checked). Each query ran "
        f"once to warm the cache, then under EXPLAIN (ANALYZE, BUFFERS), then "
        f"{EXPLAIN_REPEATS} times for the round-trip median (Django cursor, one connection).\n",
        *_plans(sqls),
    ]


def _tie_pages(seeded: Seeded) -> list[str]:
    """Page N inside a run of rows with one created_at (an import keeps given timestamps)."""
    from django.db import connection

    from apps.contacts.models import Contact
    from apps.keys.models import ApiKey
    from apps.organizations.models import Organization

    organization = Organization.objects.create(name="Bench ties")
    ApiKey.objects.get(prefix=seeded.api_key[4:12]).organizations.add(organization)
    Contact.objects.bulk_create(
        Contact(organization=organization, name=f"Tie {number}", created_at=NEWEST)
        for number in range(TIES)
    )
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {Contact._meta.db_table}")
    path = f"/api/v2/organizations/{organization.public_id}/contacts"
    sqls, _ = _walk(seeded, path, TIE_PAGES)
    return [
        f"## Appendix: page {TIE_PAGES} inside a run of equal `created_at`\n",
        f"Run after the measurements above: one more organization with {TIES:,} contacts "
        f"that all have the same `created_at`, as an import that keeps given timestamps "
        f"makes; the same walk, {TIE_PAGES} pages of {WALK_LIMIT}. When the seek condition "
        f"bounds the index scan on both columns, page {TIE_PAGES} reads what page 1 reads; "
        f"when it bounds `created_at` only and leaves `id` to a Filter, page N reads and "
        f"discards the (N - 1) x {WALK_LIMIT} rows of the run before it.\n",
        *_plans(sqls),
    ]


def _walk(seeded: Seeded, path: str, pages: int) -> tuple[dict[int, str], list[str]]:
    """Follow next_cursor through `pages` pages; the page query SQL of the first and the last
    page, and the ids of the last."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(seeded)
    cursor: str | None = None
    sqls: dict[int, str] = {}
    ids: list[str] = []
    for page in range(1, pages + 1):
        params: dict[str, Any] = {"limit": WALK_LIMIT}
        if cursor is not None:
            params["cursor"] = cursor
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, params)
        assert response.status_code == 200, response.content
        if page in (1, pages):
            sqls[page] = next(q["sql"] for q in queries if 'FROM "contacts_contact"' in q["sql"])
        body = response.json()
        ids = [row["contact_id"] for row in body["data"]]
        cursor = body["pagination"]["next_cursor"]
    _say(f"walked {pages} pages of {path}")
    return sqls, ids


def _plans(sqls: dict[int, str]) -> list[str]:
    table = [
        "| page | execution (EXPLAIN) | planning | shared buffers | rows removed by filter "
        "| median round trip |",
        "|---|---|---|---|---|---|",
    ]
    plans = []
    for page, query in sqls.items():
        plan, median_ms = _explain(query)
        # The index gives the order: no Sort node, whichever the page.
        assert "Index Scan using contact_newest_first" in plan, plan
        assert "Sort" not in plan, plan
        removed = _plan_value(plan, "Rows Removed by Filter:") if "Removed" in plan else "0"
        table.append(
            f"| {page:,} | {_plan_value(plan, 'Execution Time:')} "
            f"| {_plan_value(plan, 'Planning Time:')} | {_buffers(plan)} | {removed} "
            f"| {median_ms:.3f} ms |"
        )
        plans.append(f"Page {page:,}:\n\n```sql\n{query}\n```\n\n```\n{plan}\n```\n")
    return [*table, "", *plans]


def _explain(query: str) -> tuple[str, float]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query)
        cursor.fetchall()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        timings = []
        for _ in range(EXPLAIN_REPEATS):
            began = time.perf_counter()
            cursor.execute(query)
            cursor.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
    return plan, statistics.median(timings)


def _plan_value(plan: str, label: str) -> str:
    return next(line.split(label)[1].strip() for line in plan.splitlines() if label in line)


def _buffers(plan: str) -> str:
    # The plan's first Buffers line is the top node's: the whole query.
    line = next(line for line in plan.splitlines() if "Buffers: shared" in line)
    return line.split("shared")[1].strip()


# -- 3. the floor sends the same SQL and answers the same bytes ------------------------------------


def _paths(seeded: Seeded) -> dict[str, str]:
    from bench.urls import FLOOR_PREFIX

    org = seeded.organization_id
    return {
        "floor": f"{FLOOR_PREFIX}{org}/contacts?limit={LOAD_LIMIT}",
        "api": f"/api/v2/organizations/{org}/contacts?limit={LOAD_LIMIT}",
    }


def _same_queries(seeded: Seeded) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(seeded)
    selects = {}
    for target, path in _paths(seeded).items():
        client.get(path)  # the once-a-minute last_used_at write, if due, happens here
        with CaptureQueriesContext(connection) as queries:
            assert client.get(path).status_code == 200
        selects[target] = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert selects["api"] == selects["floor"], selects
    return [
        "## API against its floor\n",
        f"The floor (bench/floor.py) is a plain Django view on the same middleware: it sends "
        f"the API's {len(selects['api'])} SELECTs, character for character (checked "
        f"in-process: key by prefix, organization, page of limit + 1 rows), and answers the "
        f"API's bytes for the same page (checked through gunicorn; only `next_cursor` "
        f"differs, as Fernet uses a random IV).\n",
    ]


# -- 4. load through gunicorn -----------------------------------------------------------------


@contextmanager
def _gunicorn() -> Iterator[int]:
    # A free port from the kernel; another process taking it before gunicorn does is unlikely
    # and would only fail the start, which the readiness wait reports.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(_workers()),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "hyperrep.wsgi"]
    with (RESULTS / "gunicorn.log.tmp").open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while _get(port, "/readyz")[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start: see bench/results/gunicorn.log.tmp")
            time.sleep(0.2)
        _say(f"gunicorn up on 127.0.0.1:{port} with {_workers()} workers")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _workers() -> int:
    return 2 * (os.cpu_count() or 1)


def _get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        connection.close()


def _loads(port: int, seeded: Seeded, *, seconds: float, rounds: int) -> list[str]:
    headers = {"X-API-KEY": seeded.api_key}
    paths = _paths(seeded)
    bodies = {}
    for target, path in paths.items():
        status, body = _get(port, path, headers)
        assert status == 200, body
        cursor = json.loads(body)["pagination"]["next_cursor"]
        assert cursor is not None
        bodies[target] = body.replace(cursor.encode(), b"")
    assert bodies["api"] == bodies["floor"], "the floor does not answer the API's bytes"

    runs: dict[tuple[str, int], list[load.LoadResult]] = {}
    for clients in CLIENTS:
        for path in paths.values():  # warm-up, not recorded
            load.run(_url(port, path), headers=headers, clients=clients, seconds=1)
        for round_ in range(rounds):
            # Alternate the order so that neither target always runs on a warmer machine.
            order = list(paths.items())[:: 1 if round_ % 2 == 0 else -1]
            for target, path in order:
                result = load.run(
                    _url(port, path), headers=headers, clients=clients, seconds=seconds
                )
                assert result.errors == 0, f"{result.errors} non-200 answers from {target}"
                runs.setdefault((target, clients), []).append(result)
                _say(f"{target:5} {result.summary()}")

    out = [
        f"`GET .../contacts?limit={LOAD_LIMIT}` (100 rows, about "
        f"{len(bodies['api']) // 1024} KiB of JSON), gunicorn with deploy/gunicorn.conf.py, "
        f"{_workers()} sync workers, on 127.0.0.1; closed-loop clients (bench/load.py), "
        f"{rounds} rounds of {seconds:g} s per target and level, API and floor alternating; "
        f"the figures pool the rounds.\n",
        "| clients | target | req/s | p50 | p99 | requests | rounds' req/s | client CPU/req |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for clients in CLIENTS:
        for target in ("api", "floor"):
            merged = load.LoadResult.merge(runs[(target, clients)])
            per_round = ", ".join(f"{r.rps:.0f}" for r in runs[(target, clients)])
            out.append(
                f"| {clients} | {target} | {merged.rps:.0f} | {merged.percentile(50):.2f} ms "
                f"| {merged.percentile(99):.2f} ms | {merged.requests} | {per_round} "
                f"| {merged.client_cpu_seconds / merged.requests * 1000:.2f} ms |"
            )
    out += ["", "Targets (other sessions share this machine: judge by the rounds' median):", ""]
    for clients in CLIENTS:
        pooled = load.LoadResult.merge(runs[("api", clients)]).rps / (
            load.LoadResult.merge(runs[("floor", clients)]).rps
        )
        # API and floor of one round ran back to back: their ratio shares the machine's state.
        ratios = [
            api.rps / floor.rps
            for api, floor in zip(runs[("api", clients)], runs[("floor", clients)], strict=True)
        ]
        median = statistics.median(ratios)
        out.append(
            f"- {clients} client(s): API at {median:.0%} of the floor's requests/second, "
            f"median of the rounds ({', '.join(f'{r:.0%}' for r in ratios)}; pooled "
            f"{pooled:.0%}); target >= 60%: {'met' if median >= 0.6 else 'NOT met'}."
        )
    p50 = load.LoadResult.merge(runs[("api", 1)]).percentile(50)
    out.append(
        f"- API p50 at 1 client {p50:.2f} ms (target <= 5 ms): {'met' if p50 <= 5 else 'NOT met'}."
    )
    return [*out, ""]


def _url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


# -- 5. where the API's time goes ---------------------------------------------------------------

# (file, function) -> label. Cumulative time per request under cProfile (inflated, but in
# proportion); where several functions share a label (nested ones), the largest counts.
PHASES = {
    ("django/core/handlers/base.py", "get_response"): "whole request (middleware included)",
    ("rest_framework/views.py", "dispatch"): "the view",
    ("bench/floor.py", "contacts_floor"): "the view",
    ("apps/keys/services.py", "api_key_authenticate"): "API key: query + HMAC",
    ("apps/organizations/selectors.py", "organization_get"): "organization: query",
    ("rest_framework/generics.py", "filter_queryset"): "django-filter FilterSet",
    ("hyperrep/api/pagination.py", "paginate_queryset"): "paginator (page query and rows)",
    ("django/db/models/sql/compiler.py", "as_sql"): "SQL compilation (3 queries)",
    ("django/db/models/base.py", "from_db"): "model instances",
    ("rest_framework/serializers.py", "data"): "serializer",
    ("rest_framework/renderers.py", "render"): "JSON encoding",
    ("bench/floor.py", "<listcomp>"): "rows to dicts (floor)",
    ("json/__init__.py", "dumps"): "JSON encoding",
    ("hyperrep/api/pagination.py", "encode_cursor"): "next_cursor (Fernet)",
    ("bench/floor.py", "_cursor"): "next_cursor (Fernet)",
    ("psycopg/connection.py", "wait"): "waiting on PostgreSQL",
}


def _profile(seeded: Seeded, requests: int = 200) -> list[str]:
    client = _client(seeded)
    out = [
        "## Where the time goes (cProfile, in-process, Django test client)\n",
        f"Cumulative time per request over {requests} requests of each view; profiling inflates "
        "every figure, compare them with each other.\n",
        "| phase | API ms/req | floor ms/req |",
        "|---|---|---|",
    ]
    columns = []
    for path in (_paths(seeded)["api"], _paths(seeded)["floor"]):
        for _ in range(20):
            client.get(path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            client.get(path)
        profiler.disable()
        stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        per_phase: dict[str, float] = {}
        for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
            for (suffix, name), label in PHASES.items():
                if function == name and filename.endswith(suffix):
                    # Nested matches (ListSerializer.data calling Serializer.data): the outer.
                    per_phase[label] = max(per_phase.get(label, 0.0), cumulative)
        columns.append(per_phase)
    for label in dict.fromkeys(PHASES.values()):
        cells = [f"{c[label] / requests * 1000:.2f}" if label in c else "-" for c in columns]
        out.append(f"| {label} | {' | '.join(cells)} |")
    return [*out, ""]


# -- helpers ------------------------------------------------------------------------------------


def _client(seeded: Seeded) -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", HTTP_X_API_KEY=seeded.api_key)


def _machine() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (postgres,) = cursor.fetchone()
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    code = _git("rev-parse", "--short", "HEAD")
    if _git("status", "--porcelain", "--", "apps", "hyperrep", "deploy"):
        code += " plus uncommitted changes"
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC of commit {code}, "
        f"on {os.cpu_count()} cores ({cpu}), "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {postgres} on 127.0.0.1 (default configuration); load average at start "
        f"{os.getloadavg()[0]:.2f}."
    )


def _git(*args: str) -> str:
    command = ["git", "-C", str(ROOT), *args]  # fixed arguments, no shell
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()  # noqa: S603


def _say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


if __name__ == "__main__":
    main()
