"""What every end-to-end benchmark here shares: a throwaway PostgreSQL database, the demo
organization, gunicorn on a free loopback port, API-against-floor load rounds, EXPLAIN with a
round-trip median, and the report. The scripts (contacts_list.py, conversation_lists.py,
analytics.py) say what they measure; this says how.
"""

import http.client
import io
import json
import logging
import os
import platform
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

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
EXPLAIN_REPEATS = 200


def say(message: str) -> None:
    print(f"[bench] {message}", flush=True)


# -- the database -------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name!r}: the benchmark database's name has 'bench'")
    admin = urlsplit(url)._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def fresh_django(default_database_url: str) -> None:
    """This process as an in-process benchmark needs it: the benchmark settings, the database
    of DATABASE_URL (default `default_database_url`) dropped, re-created and migrated, and
    Django set up. SECRET_KEY is random unless set."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    os.environ.setdefault("DATABASE_URL", default_database_url)
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ["DEBUG"] = "0"
    # No collectstatic here, and the API serves no static files: WhiteNoise's warning is noise.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    recreate_database(os.environ["DATABASE_URL"])
    django.setup()
    # In this process the per-request log lines would only drown the progress messages.
    logging.getLogger("hyperrep.request").setLevel(logging.WARNING)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed_demo(messages: int) -> tuple[Any, str, float]:
    """`manage.py seed_demo --messages N` in this process: the demo organization, its API
    key and the seconds the seeding took."""
    from django.core.management import call_command

    from apps.keys.models import ApiKey

    began = time.monotonic()
    out = io.StringIO()
    call_command("seed_demo", "--messages", str(messages), stdout=out)
    seconds = time.monotonic() - began
    api_key = out.getvalue().strip().splitlines()[-1]
    organization = ApiKey.objects.get(prefix=api_key[4:12]).organizations.get()
    say(f"seeded {messages} messages in {seconds:.0f} s")
    return organization, api_key, seconds


def write_report(name: str, lines: list[str]) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text("\n".join(lines))
    say(f"wrote {RESULTS / name}")


def explain(query: str, repeats: int = EXPLAIN_REPEATS) -> tuple[str, float]:
    """The query's EXPLAIN (ANALYZE, BUFFERS) after one warm-up run, and its median round trip
    in ms over `repeats` runs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(query)
        cursor.fetchall()
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
        timings = []
        for _ in range(repeats):
            began = time.perf_counter()
            cursor.execute(query)
            cursor.fetchall()
            timings.append((time.perf_counter() - began) * 1000)
    return plan, statistics.median(timings)


def plan_value(plan: str, label: str) -> str:
    return next(line.split(label)[1].strip() for line in plan.splitlines() if label in line)


def buffers(plan: str) -> str:
    # The plan's first Buffers line is the top node's: the whole query.
    line = next(line for line in plan.splitlines() if "Buffers: shared" in line)
    return line.split("shared")[1].strip()


# -- gunicorn and load --------------------------------------------------------------------------


def workers() -> int:
    return 2 * (os.cpu_count() or 1)


@contextmanager
def gunicorn(env: dict[str, str] | None = None, log: str = "gunicorn") -> Iterator[int]:
    """gunicorn (deploy/gunicorn.conf.py, DJANGO_SETTINGS_MODULE of the environment, and
    `env` over it) on a free 127.0.0.1 port, its log in bench/results/<log>.log.tmp; yields
    the port."""
    # A free port from the kernel; another process taking it before gunicorn does is unlikely
    # and would only fail the start, which the readiness wait reports.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers()),
        **(env or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "hyperrep.wsgi"]
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{log}.log.tmp").open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=out, stderr=out)  # noqa: S603
    try:
        deadline = time.monotonic() + 30
        while get(port, "/readyz")[0] != 200:
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start: see bench/results/{log}.log.tmp")
            time.sleep(0.2)
        say(f"gunicorn up on 127.0.0.1:{port} with {workers()} workers")
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        connection.close()


def url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def compare_loads(
    port: int,
    *,
    api_key: str,
    paths: dict[str, str],
    clients: tuple[int, ...],
    seconds: float,
    rounds: int,
    describe: str,
) -> tuple[list[str], dict[tuple[str, int], list[load.LoadResult]]]:
    """Load `paths["api"]` and `paths["floor"]` in alternating rounds at each client count;
    the report's table and target lines, and the raw runs. Both must answer the same bytes
    (apart from `next_cursor`: Fernet's IV is random)."""
    headers = {"X-API-KEY": api_key}
    bodies = {}
    for target, path in paths.items():
        status, body = get(port, path, headers)
        assert status == 200, body
        cursor = json.loads(body)["pagination"]["next_cursor"]
        bodies[target] = body.replace(cursor.encode(), b"") if cursor else body
    assert bodies["api"] == bodies["floor"], "the floor does not answer the API's bytes"

    runs: dict[tuple[str, int], list[load.LoadResult]] = {}
    for level in clients:
        for path in paths.values():  # warm-up, not recorded
            load.run(url(port, path), headers=headers, clients=level, seconds=1)
        for round_ in range(rounds):
            # Alternate the order so that neither target always runs on a warmer machine.
            order = list(paths.items())[:: 1 if round_ % 2 == 0 else -1]
            for target, path in order:
                result = load.run(url(port, path), headers=headers, clients=level, seconds=seconds)
                assert result.errors == 0, f"{result.errors} non-200 answers from {target}"
                runs.setdefault((target, level), []).append(result)
                say(f"{target:5} {result.summary()}")

    out = [
        f"{describe} (about {len(bodies['api']) // 1024} KiB of JSON), gunicorn with "
        f"deploy/gunicorn.conf.py, {workers()} sync workers, on 127.0.0.1; closed-loop clients "
        f"(bench/load.py), {rounds} rounds of {seconds:g} s per target and level, API and floor "
        f"alternating; the figures pool the rounds.\n",
        "| clients | target | req/s | p50 | p99 | requests | rounds' req/s | client CPU/req |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level in clients:
        for target in ("api", "floor"):
            merged = load.LoadResult.merge(runs[(target, level)])
            per_round = ", ".join(f"{r.rps:.0f}" for r in runs[(target, level)])
            out.append(
                f"| {level} | {target} | {merged.rps:.0f} | {merged.percentile(50):.2f} ms "
                f"| {merged.percentile(99):.2f} ms | {merged.requests} | {per_round} "
                f"| {merged.client_cpu_seconds / merged.requests * 1000:.2f} ms |"
            )
    out += ["", "Targets (other sessions may share this machine: judge by the rounds' median):", ""]
    for level in clients:
        pooled = load.LoadResult.merge(runs[("api", level)]).rps / (
            load.LoadResult.merge(runs[("floor", level)]).rps
        )
        # API and floor of one round ran back to back: their ratio shares the machine's state.
        ratios = [
            api.rps / floor.rps
            for api, floor in zip(runs[("api", level)], runs[("floor", level)], strict=True)
        ]
        median = statistics.median(ratios)
        out.append(
            f"- {level} client(s): API at {median:.0%} of the floor's requests/second, "
            f"median of the rounds ({', '.join(f'{r:.0%}' for r in ratios)}; pooled "
            f"{pooled:.0%}); target >= 60%: {'met' if median >= 0.6 else 'NOT met'}."
        )
    return out, runs


# -- the report ---------------------------------------------------------------------------------


def client(api_key: str) -> Any:
    from django.test import Client

    return Client(HTTP_HOST="127.0.0.1", HTTP_X_API_KEY=api_key)


def machine() -> str:
    """The report's header: when, which commit, on what (the database of DATABASE_URL)."""
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        (postgres,) = connection.execute("SHOW server_version").fetchone()  # type: ignore[misc]
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    code = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--", "apps", "hyperrep", "deploy", "bench"):
        code += " plus uncommitted changes"
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC of commit {code}, "
        f"on {os.cpu_count()} cores ({cpu}, {memory:.0f} GiB), "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {postgres} on 127.0.0.1 (default configuration); load average at start "
        f"{os.getloadavg()[0]:.2f}."
    )


def git(*args: str) -> str:
    command = ["git", "-C", str(ROOT), *args]  # fixed arguments, no shell
    return subprocess.run(command, capture_output=True, text=True).stdout.strip()  # noqa: S603


class SQLTimes:
    """While entered, every SQL statement of this thread's connection timed, round trip
    included, by its kind (SELECT, UPDATE, …)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.count: dict[str, int] = {}

    def _timed(self, execute: Any, query: str, params: Any, many: bool, context: Any) -> Any:
        began = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            kind = query.lstrip().split(None, 1)[0].upper()
            self.seconds[kind] = self.seconds.get(kind, 0.0) + time.perf_counter() - began
            self.count[kind] = self.count.get(kind, 0) + 1

    def __enter__(self) -> "SQLTimes":
        from django.db import connection

        self._wrapper = connection.execute_wrapper(self._timed)
        self._wrapper.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._wrapper.__exit__(*exc)

    def per(self, items: int, item: str) -> dict[str, float]:
        """Milliseconds an item by kind, the heaviest first: `SQL UPDATE (0.2 a draft)`."""
        return {
            f"SQL {kind} ({self.count[kind] / items:.1f} {item})": seconds * 1000 / items
            for kind, seconds in sorted(self.seconds.items(), key=lambda pair: -pair[1])
        }
