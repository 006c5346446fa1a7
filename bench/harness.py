"""What every end-to-end benchmark here shares: a throwaway PostgreSQL database, the demo
organization, gunicorn on a free loopback port, API-against-floor load rounds, EXPLAIN with a
round-trip median, and the report. The scripts (contacts_list.py, conversation_lists.py,
analytics.py) say what they measure; this says how.
"""

import cProfile
import http.client
import io
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
from dataclasses import dataclass
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


def seed_demo(messages: int, *options: str) -> tuple[Any, str, float]:
    """`manage.py seed_demo --messages N [options]` in this process: the demo organization,
    its API key and the seconds the seeding took."""
    from django.core.management import call_command

    from apps.keys.models import ApiKey

    began = time.monotonic()
    out = io.StringIO()
    call_command("seed_demo", "--messages", str(messages), *options, stdout=out)
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


RAW_APP = "bench.raw_floor:with_django()"  # the raw floor in front of Django (bench/raw_floor.py)


@contextmanager
def gunicorn(
    env: dict[str, str] | None = None, log: str = "gunicorn", app: str = "hyperrep.wsgi"
) -> Iterator[int]:
    """gunicorn (deploy/gunicorn.conf.py, DJANGO_SETTINGS_MODULE of the environment, and
    `env` over it) serving `app` (RAW_APP: the raw floor too) on a free 127.0.0.1 port (one
    of BENCH_PORTS, e.g. `19000-19099`, if set), its log in bench/results/<log>.log.tmp;
    yields the port."""
    port = free_port()
    environment = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers()),
        **(env or {}),
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", app]
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


def free_port() -> int:
    """A free 127.0.0.1 port: from BENCH_PORTS (`first-last`) if set, else from the kernel.
    Another process taking it before gunicorn does is unlikely and would only fail the start,
    which the readiness wait reports."""
    first, _, last = os.environ.get("BENCH_PORTS", "0-0").partition("-")
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise SystemExit(f"no free port in BENCH_PORTS={os.environ['BENCH_PORTS']}")


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


TARGETS = {"api": "API", "floor": "Django floor", "raw": "raw floor"}


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
    """Load `paths["api"]`, `paths["floor"]` and, if given, `paths["raw"]` (bench/raw_floor.py)
    in interleaved rounds at each client count; the report's table and target lines, and the
    runs themselves. All must answer the API's bytes, apart from the value of `next_cursor`
    (Fernet's IV is random): every cursor must hold the API's key, and the raw floor's the
    API's scope too."""
    headers = {"X-API-KEY": api_key}
    bodies = {}
    cursors = {}
    for target, path in paths.items():
        status, body = get(port, path, headers)
        assert status == 200, body
        cursor = json.loads(body)["pagination"]["next_cursor"]
        bodies[target] = body.replace(cursor.encode(), b"") if cursor else body
        cursors[target] = cursor and _cursor_payload(cursor)
    for target in paths:
        assert bodies[target] == bodies["api"], (
            f"the {TARGETS[target]} does not answer the API's bytes"
        )
        assert (cursors[target] or {}).get("k") == (cursors["api"] or {}).get("k"), target
    if "raw" in paths:
        assert cursors["raw"] == cursors["api"], "the raw floor's cursor is not the API's"

    runs: dict[tuple[str, int], list[load.LoadResult]] = {}
    # Every thread of every worker serves each target once before anything is recorded: a
    # thread's first request opens its database connection (and the API's first compiles its
    # serializers), and with only the per-level warm-up below, those fell into the first
    # round's figures, whose first target is always the API.
    for path in paths.values():
        load.run(url(port, path), headers=headers, clients=workers() * 4, seconds=2)
    for level in clients:
        for path in paths.values():  # warm-up, not recorded
            load.run(url(port, path), headers=headers, clients=level, seconds=1)
        for round_ in range(rounds):
            # Alternate the order so that no target always runs on a warmer machine.
            order = list(paths.items())[:: 1 if round_ % 2 == 0 else -1]
            for target, path in order:
                result = load.run(url(port, path), headers=headers, clients=level, seconds=seconds)
                assert result.errors == 0, f"{result.errors} non-200 answers from {target}"
                runs.setdefault((target, level), []).append(result)
                say(f"{target:5} {result.summary()}")

    names = " and ".join(TARGETS[target] for target in paths)
    out = [
        f"{describe} (about {len(bodies['api']) // 1024} KiB of JSON), gunicorn with "
        f"deploy/gunicorn.conf.py (its worker class and threads, WEB_CONCURRENCY={workers()}) "
        f"on 127.0.0.1; closed-loop clients (bench/load.py), {rounds} rounds of {seconds:g} s per "
        f"target and level, {names} in turn, the order reversed every other round; the "
        "figures pool the rounds.\n",
        "| clients | target | req/s | p50 | p99 | requests | rounds' req/s | client CPU/req |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for level in clients:
        for target in paths:
            merged = load.LoadResult.merge(runs[(target, level)])
            per_round = ", ".join(f"{r.rps:.0f}" for r in runs[(target, level)])
            out.append(
                f"| {level} | {target} | {merged.rps:.0f} | {merged.percentile(50):.2f} ms "
                f"| {merged.percentile(99):.2f} ms | {merged.requests} | {per_round} "
                f"| {merged.client_cpu_seconds / merged.requests * 1000:.2f} ms |"
            )
    out += ["", "Targets (other sessions may share this machine: judge by the rounds' median):", ""]
    for level in clients:
        median = share(runs, "api", "floor", level)
        out.append(
            f"- {level} client(s): API at {median.text} of the Django floor's requests/second; "
            f"target >= 60%: {'met' if median.value >= 0.6 else 'NOT met'}; issue 16's >= 90%: "
            f"{'met' if median.value >= 0.9 else 'NOT met'}."
        )
        if "raw" in paths:
            raw = share(runs, "api", "raw", level)
            floor = share(runs, "floor", "raw", level)
            out.append(
                f"- {level} client(s): API at {raw.text} of the raw floor's requests/second; "
                f"issue 16's >= 40%: {'met' if raw.value >= 0.4 else 'NOT met'}. (The Django "
                f"floor at {floor.text} of the raw floor's.)"
            )
    return out, runs


@dataclass(frozen=True)
class Share:
    value: float  # the median of the rounds' ratios
    text: str


def share(
    runs: dict[tuple[str, int], list[load.LoadResult]], target: str, floor: str, level: int
) -> Share:
    """`target`'s requests/second as a share of `floor`'s at `level` clients: the median of the
    rounds' ratios (the two ran in the same round, so on the same machine state), with each
    round's and the pooled one."""
    pooled = load.LoadResult.merge(runs[(target, level)]).rps / (
        load.LoadResult.merge(runs[(floor, level)]).rps
    )
    ratios = [
        mine.rps / theirs.rps
        for mine, theirs in zip(runs[(target, level)], runs[(floor, level)], strict=True)
    ]
    median = statistics.median(ratios)
    rounds = ", ".join(f"{r:.0%}" for r in ratios)
    return Share(median, f"{median:.0%} (median of the rounds: {rounds}; pooled {pooled:.0%})")


def _cursor_payload(cursor: str) -> dict[str, Any]:
    from hyperrep.crypto import fernet

    payload: dict[str, Any] = json.loads(fernet("pagination.cursor").decrypt(cursor.encode()))
    return payload


def raw_selects(path: str, api_key: str) -> list[str]:
    """The SELECTs the raw floor (bench/raw_floor.py) sends for `path`, as sent (placeholders
    filled in by psycopg, as Django's CaptureQueriesContext shows the API's), from a request
    made in this process on a connection of its own."""
    from bench.raw_floor import RawFloor

    sent: list[str] = []

    class Recording(psycopg.ClientCursor):
        def execute(self, query: Any, params: Any = None, **kwargs: Any) -> "Recording":
            sent.append(self.mogrify(query, params))
            return super().execute(query, params, **kwargs)

    raw = RawFloor.from_environment()
    raw.cursor_factory = Recording
    path, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "HTTP_X_API_KEY": api_key,
    }
    answer: list[str] = []
    body = b"".join(raw(environ, lambda status, headers: answer.append(status)))
    raw.connection().close()
    assert answer == ["200 OK"], (answer, body)
    return [query for query in sent if query.startswith("SELECT")]


def same_queries(api_key: str, load_paths: dict[str, dict[str, str]]) -> list[str]:
    """Check that both floors send the API's SELECTs for each list of `load_paths` (label ->
    {"api", "floor", "raw"} paths), character for character, in this process; the report's
    lines saying so."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    test_client = client(api_key)
    out = ["## API against its floors\n"]
    for label, paths in load_paths.items():
        selects: dict[str, Any] = {}
        for target in ("api", "floor"):
            test_client.get(paths[target])  # the once-a-minute last_used_at write, if due
            with CaptureQueriesContext(connection) as queries:
                assert test_client.get(paths[target]).status_code == 200
            selects[target] = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
        selects["raw"] = raw_selects(paths["raw"], api_key)
        assert selects["api"] == selects["floor"] == selects["raw"], selects
        out.append(
            f"- `{label}`: both floors send the API's {len(selects['api'])} SELECTs, character "
            f"for character (checked in-process), and answer its bytes (checked over HTTP "
            f"before loading)."
        )
    out.append(
        "\nThe Django floors (bench/floor.py) are plain Django views on the same middleware "
        "that call the same services and selectors and render the rows from cursor tuples, "
        "without DRF or model instances. The raw floor (bench/raw_floor.py) is a plain WSGI "
        "application on psycopg 3 with one connection per thread, no Django in its requests: "
        "the same SELECTs as SQL strings, rows rendered by position, the key's work as the API "
        "does it; it leaves out Django's middleware, the rate-limit budget and the connection "
        "health check (`SELECT 1`).\n"
    )
    return out


def profile_phases(
    api_key: str, paths: list[str], phases: dict[tuple[str, str], str], requests: int = 200
) -> list[str]:
    """A table of the cumulative time per request of each phase (`phases`: (file suffix,
    function) -> label) under cProfile, one column per path (the API, then its floor), over
    `requests` requests of each made in this process."""
    test_client = client(api_key)
    out = [
        f"Cumulative time per request over {requests} requests of each view; profiling inflates "
        "every figure, compare them with each other.\n",
        "| phase | API ms/req | floor ms/req |",
        "|---|---|---|",
    ]
    columns = []
    for path in paths:
        for _ in range(20):
            test_client.get(path)
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            test_client.get(path)
        profiler.disable()
        stats: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
        per_phase: dict[str, float] = {}
        for (filename, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items():
            for (suffix, name), label in phases.items():
                if function == name and filename.endswith(suffix):
                    # Nested matches (ListSerializer.data calling Serializer.data): the outer.
                    per_phase[label] = max(per_phase.get(label, 0.0), cumulative)
        columns.append(per_phase)
    for label in dict.fromkeys(phases.values()):
        cells = [f"{c[label] / requests * 1000:.2f}" if label in c else "-" for c in columns]
        out.append(f"| {label} | {' | '.join(cells)} |")
    return out


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
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC of commit {revision()}, "
        f"on {os.cpu_count()} cores ({cpu}, {memory:.0f} GiB), "
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"PostgreSQL {postgres} on 127.0.0.1 (default configuration); load average at start "
        f"{os.getloadavg()[0]:.2f}."
    )


def revision() -> str:
    """The commit measured, and whether the code (not docs) had uncommitted changes."""
    code = git("rev-parse", "--short", "HEAD")
    if git("status", "--porcelain", "--", "apps", "hyperrep", "deploy", "bench"):
        code += " plus uncommitted changes"
    return code or "unknown commit"


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
