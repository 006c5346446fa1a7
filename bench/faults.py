"""Load and faults against gunicorn on PostgreSQL: what the server answers, keeps and logs
while PostgreSQL restarts or stops, a worker is killed and Redis stops.

    .venv/bin/python -m bench.faults [--clients 8,32,64] [--seconds 120] [--phases ...]

1. Starts its own servers, all on 127.0.0.1 and all removed afterwards: a PostgreSQL
   cluster on port 18432 (initdb into a temporary directory, as the `postgres` OS user when
   run as root; default configuration, fsync on), a `redis-server` on 18479 (`--save ''
   --appendonly no`), and, once the database `hyperrep_bench_faults` there is migrated and
   seeded with the demo organization (`seed_demo --messages N`: contacts, companies,
   conversations, an API key), gunicorn with `-c deploy/gunicorn.conf.py hyperrep.wsgi` as
   it is, on 18400, with DATABASE_URL, `REDIS_URL=redis://127.0.0.1:18479/0`,
   `API_RATE_LIMIT=1000000/minute` (`--rate-limit`: never reached, but every request is
   counted in Redis) and PROMETHEUS_MULTIPROC_DIR in the temporary directory.
2. For each client count, each phase is a closed-loop load of `--seconds`: reads
   (`GET …/contacts?limit=100`, `GET …/contacts/{id}`, `GET …/conversations?limit=20`,
   80% together) and writes (`POST …/contacts` with a unique email and an
   `Idempotency-Key` each, and `PATCH …/contacts/{id}` of a new `name`; 20%). A client is a
   thread with one http.client connection, kept alive while the server keeps it; a request
   that fails without an answer (connection refused or reset, timeout after 10 s) closes it,
   and the client waits 0.1 s before its next one. When the server does not route `PATCH
   …/contacts/{id}` (a probe before the run answers 405), the writes are POSTs only. Each
   client count starts with 2 s of the same load that is in no table (its answers other
   than 2xx, and their tracebacks, are listed in the report all the same).
3. One fault a phase, `--fault-at` seconds in (default a quarter of the phase):
   `steady` (none), `pg-restart` (`pg_ctl restart -m fast`), `pg-stop` (`pg_ctl stop -m
   fast`, `--outage` seconds, `pg_ctl start`), `worker-kill` (SIGKILL to one of the gunicorn
   master's children; the fault lasts until the master has a new one) and `redis-stop` (the
   process stopped, `--outage` seconds, a new one started). A phase runs on for at least
   5 s after its fault has ended, then the server must answer `/readyz` 200 before the next.
4. Per phase: requests, answers by status, failures without an answer by kind, p50 and p99
   of every request (a failed one until it failed), kept-alive connections; in the fault's
   window, from its start to 1 s after its end: requests, errors, and the server's log
   (stdout and stderr of gunicorn, each line stamped as it arrives): records by level,
   traceback lines and tracebacks. Then, in the database, every acknowledged (2xx) POST's
   contact must exist with its email, and every contact acknowledged PATCHed must hold the
   name of its last acknowledged PATCH, or of one sent after it that got no 2xx, or of one
   given up without an answer (it may still have been running on the server). POSTs that
   got no 2xx but whose row exists are counted. At the end, the writes of every phase are
   checked again.

Results go to bench/results/faults.md; gunicorn's, PostgreSQL's and Redis's logs to
bench/results/faults-*.log.tmp. SECRET_KEY is random unless set. Everything started is
stopped on the way out, Ctrl-C and SIGTERM included.
"""

import argparse
import http.client
import json
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

from bench import harness
from bench.load import rank

HTTP_PORT = 18400
PG_PORT = 18432
REDIS_PORT = 18479
DATABASE = "hyperrep_bench_faults"
DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{DATABASE}"
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
# A budget no load here reaches: each request is still counted in Redis, which the Redis
# fault is about (API_RATE_LIMIT=0 would leave Redis out of the API's requests).
RATE_LIMIT = "1000000/minute"
PHASES = ("steady", "pg-restart", "pg-stop", "worker-kill", "redis-stop")
REQUEST_TIMEOUT = 10.0  # seconds a request may take before the client gives up on it
BACKOFF = 0.1  # seconds a client waits after a request that got no answer
AFTER_FAULT = 5.0  # seconds a phase runs on at least once its fault has ended
LOG_GRACE = 1.0  # the fault's log window ends this long after the fault
READY_TIMEOUT = 60.0
WARM_UP = 2.0
# Lines that begin a log record: the app's formatter (hyperrep/settings.py), gunicorn's
# own, and JSON lines (LOG_FORMAT=json). Any other line continues the record before it.
APP_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} ([A-Z]+) ")
GUNICORN_RECORD = re.compile(r"^\[\d{4}-\d\d-\d\d [^]]*\] \[\d+\] \[([A-Z]+)\] ")
TRACEBACK = "Traceback (most recent call last):"
CHAINED = ("During handling of the above exception", "The above exception was the direct cause")


def say(message: str) -> None:
    harness.say(message)


# -- the servers --------------------------------------------------------------------------------


def port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def run(command: list[str], *, timeout: float = 120) -> str:
    done = subprocess.run(  # noqa: S603 (fixed arguments, no shell)
        command, capture_output=True, text=True, timeout=timeout, start_new_session=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)}: exit {done.returncode}\n{done.stderr}")
    return done.stdout


class Postgres:
    """A cluster of its own in `directory`; its binaries run as `postgres` when this runs as
    root (initdb and the server refuse root)."""

    def __init__(self, directory: Path) -> None:
        versions = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
            key=lambda path: int(path.parent.parent.name),
        )
        if not versions:
            raise SystemExit("no PostgreSQL binaries in /usr/lib/postgresql/*/bin")
        self.bin = versions[-1].parent
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(directory, owner.pw_uid, owner.pw_gid)
            self.as_user = ["runuser", "-u", "postgres", "--"]

    def _ctl(self, *args: str) -> None:
        run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), *args])

    def init(self) -> None:
        run(
            [
                *self.as_user,
                *(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres"),
                *("--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync"),
            ]
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"\nport = {PG_PORT}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.directory}'\n"
            )

    def start(self) -> None:
        self._ctl("start", "-w", "-t", "60", "-l", str(self.log))

    def stop(self) -> None:
        self._ctl("stop", "-w", "-t", "60", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-w", "-t", "60", "-m", "fast", "-l", str(self.log))

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def shut_down(self) -> None:
        """On the way out, whatever state it is in."""
        if not self.running():
            return
        try:
            self.stop()
        except (RuntimeError, subprocess.TimeoutExpired):
            self._ctl("stop", "-w", "-t", "30", "-m", "immediate")


class Redis:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = directory / "redis.log"

    def start(self) -> None:
        command = ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603
                command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 30
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start: see {self.log}")
            time.sleep(0.05)

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Gunicorn:
    """gunicorn with deploy/gunicorn.conf.py on HTTP_PORT; every line of its output is kept
    with the time.perf_counter() at which it arrived."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.lines: list[tuple[float, str]] = []
        self.process: subprocess.Popen[bytes] | None = None
        self.reader: threading.Thread | None = None

    def start(self) -> None:
        command = [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"]
        self.process = subprocess.Popen(  # noqa: S603
            [*command, "hyperrep.wsgi"],
            cwd=harness.ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self.reader = threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True)
        self.reader.start()
        if not wait_ready(HTTP_PORT, READY_TIMEOUT, self.process):
            raise RuntimeError(f"gunicorn did not start: see {self.log_path}")

    def _read(self, stream: IO[bytes]) -> None:
        with self.log_path.open("w") as log:
            for raw in iter(stream.readline, b""):
                line = raw.decode(errors="replace").rstrip("\n")
                self.lines.append((time.perf_counter(), line))  # append is atomic
                log.write(line + "\n")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def workers(self) -> list[int]:
        """The master's children (all of them are workers), from /proc."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == self.pid:
                children.append(int(stat.parent.name))
        return sorted(children)

    def worker_class(self) -> str:
        for _when, line in self.lines:
            if found := re.search(r"Using worker: (\S+)", line):
                return found.group(1)
        return "unknown"

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session, started here
                self.process.wait()
        if self.reader is not None:
            self.reader.join(timeout=10)


def wait_ready(port: int, seconds: float, process: subprocess.Popen[bytes] | None = None) -> bool:
    """`/readyz` answers 200 within `seconds`."""
    deadline = time.monotonic() + seconds
    while harness.get(port, "/readyz")[0] != 200:
        if (process is not None and process.poll() is not None) or time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


# -- the load -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    organization: str
    api_key: str
    contacts: list[str]  # seeded contacts' public ids: read, and PATCHed by their client
    patch: bool  # the server routes PATCH …/contacts/{id}
    run: str  # this run's tag, in every email and name written


@dataclass
class ClientLog:
    """What one client saw. A sample: (start, ms, status or 0, failure kind or "", op)."""

    samples: list[tuple[float, float, int, str, str]] = field(default_factory=list)
    connections: int = 0
    bodies: dict[int, Counter[str]] = field(default_factory=dict)
    retry_after: Counter[int] = field(default_factory=Counter)
    created: list[tuple[str, str]] = field(default_factory=list)  # acknowledged (id, email)
    # POSTs without a 2xx: (email, request id, what came back)
    unacknowledged: list[tuple[str, str, str]] = field(default_factory=list)
    patches: list[tuple[str, str, int]] = field(default_factory=list)  # (id, name, status)


def client_loop(
    index: int,
    clients: int,
    target: Target,
    phase: str,
    began: float,
    stop: threading.Event,
    log: ClientLog,
) -> None:
    rng = random.Random(f"{target.run}-{phase}-{clients}-{index}")
    mine = target.contacts[index::clients]  # only this client PATCHes these: an order exists
    base = f"/api/v2/organizations/{target.organization}"
    headers = {"X-API-KEY": target.api_key}
    writing = {**headers, "Content-Type": "application/json"}
    connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=REQUEST_TIMEOUT)
    number = 0
    email = contact = name = ""
    try:
        while not stop.is_set():
            number += 1
            draw = rng.random()
            body: bytes | None = None
            send = headers
            if draw < 0.8 / 3:
                op, method, path = "list contacts", "GET", f"{base}/contacts?limit=100"
            elif draw < 1.6 / 3:
                op, method = "get contact", "GET"
                path = f"{base}/contacts/{rng.choice(target.contacts)}"
            elif draw < 0.8:
                op, method, path = "list conversations", "GET", f"{base}/conversations?limit=20"
            elif draw < 0.9 and target.patch and mine:
                op, method, send = "patch contact", "PATCH", writing
                contact = rng.choice(mine)
                path = f"{base}/contacts/{contact}"
                name = f"Faults {target.run} {phase} {clients}-{index}-{number}"
                body = json.dumps({"name": name}).encode()
            else:
                op, method = "post contact", "POST"
                send = {**writing, "Idempotency-Key": uuid.uuid4().hex}
                path = f"{base}/contacts"
                email = f"faults-{target.run}-{phase}-{clients}-{index}-{number}@example.com"
                body = json.dumps({"name": "Faults contact", "email": email}).encode()
            # The log names each request by it, and the report finds a request's traceback.
            request_id = f"faults-{target.run}-{phase}-{clients}-{index}-{number}"
            send = {**send, "X-Request-ID": request_id}
            reused = connection.sock is not None
            if not reused:
                log.connections += 1
            start = time.perf_counter()
            status, failure, answer = 0, "", b""
            try:
                connection.request(method, path, body=body, headers=send)
                response = connection.getresponse()
                answer = response.read()
                status = response.status
                if status >= 300:
                    snippet = answer[:160].decode(errors="replace")
                    log.bodies.setdefault(status, Counter())[snippet] += 1
                    if response.getheader("Retry-After") is not None:
                        log.retry_after[status] += 1
            except (OSError, http.client.HTTPException) as error:
                # On a kept-alive connection, the server may have closed it meanwhile.
                failure = type(error).__name__ + (" (kept-alive connection)" if reused else "")
                connection.close()
            log.samples.append(
                (start - began, (time.perf_counter() - start) * 1000, status, failure, op)
            )
            acknowledged = 200 <= status < 300
            if op == "post contact":
                if acknowledged:
                    try:
                        created = json.loads(answer)["contact_id"]
                    except (ValueError, KeyError, TypeError):
                        log.bodies.setdefault(status, Counter())["2xx without contact_id"] += 1
                    else:
                        log.created.append((created, email))
                else:
                    log.unacknowledged.append((email, request_id, str(status or failure)))
            elif op == "patch contact":
                log.patches.append((contact, name, status))
            if failure:
                stop.wait(BACKOFF)
    finally:
        connection.close()


@dataclass
class Fault:
    name: str
    note: str = ""
    start: float | None = None  # perf_counter
    end: float | None = None


def inject(phase: str, servers: "Servers") -> Fault:
    """Run the phase's fault, blocking until it is over."""
    began = time.perf_counter()
    fault = Fault(phase, start=began)
    if phase == "pg-restart":
        servers.postgres.restart()
        fault.note = "pg_ctl restart -m fast"
    elif phase == "pg-stop":
        servers.postgres.stop()
        time.sleep(servers.outage)
        servers.postgres.start()
        fault.note = f"pg_ctl stop -m fast, {servers.outage:g} s, pg_ctl start"
    elif phase == "worker-kill":
        before = servers.gunicorn.workers()
        if not before:
            raise RuntimeError("gunicorn has no workers to kill")
        victim = before[0]
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        now = before
        while time.monotonic() < deadline:
            now = servers.gunicorn.workers()
            if victim not in now and len(now) >= len(before):
                break
            time.sleep(0.02)
        replaced = sorted(set(now) - set(before))
        fault.note = f"SIGKILL to worker {victim} of {len(before)}; " + (
            f"master had a new one ({', '.join(map(str, replaced))}) after "
            f"{time.perf_counter() - began:.2f} s"
            if victim not in now and len(now) >= len(before)
            else f"still {len(now)} workers after 30 s"
        )
    elif phase == "redis-stop":
        servers.redis.stop()
        time.sleep(servers.outage)
        servers.redis.start()
        fault.note = f"redis-server stopped, {servers.outage:g} s, a new one started (empty)"
    else:
        fault.note = "none"
        fault.start = None
        return fault
    fault.end = time.perf_counter()
    return fault


@dataclass
class Servers:
    postgres: Postgres
    redis: Redis
    gunicorn: Gunicorn
    outage: float


@dataclass
class Checked:
    created_acknowledged: int = 0
    created_found: int = 0
    unacknowledged_present: int = 0
    unacknowledged: int = 0
    patched_acknowledged: int = 0  # contacts with at least one acknowledged PATCH
    patched_found: int = 0  # of those, holding an allowed name
    patched_later: int = 0  # of those found, holding the name of a PATCH without a 2xx
    written_unacknowledged: list[tuple[str, str, str]] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def check_writes(
    table: str,
    organization_pk: int,
    created: list[tuple[str, str]],
    unacknowledged: list[tuple[str, str, str]],
    patches: list[tuple[str, str, int]],
) -> Checked:
    """The writes, looked up in the database: every acknowledged POST's row with its email;
    every contact with an acknowledged PATCH holding the name of its last acknowledged one,
    or of one that may have been written all the same: sent after it without a 2xx, or
    given up without an answer at any time (it may still have been running on the server)."""
    checked = Checked(created_acknowledged=len(created), unacknowledged=len(unacknowledged))
    allowed: dict[str, tuple[str, set[str]]] = {}  # id: (last acknowledged, others possible)
    unanswered: dict[str, set[str]] = {}
    for contact, name, status in patches:  # in the order each contact's client sent them
        if 200 <= status < 300:
            allowed[contact] = (name, set())
        elif contact in allowed:
            allowed[contact][1].add(name)
        if not status:
            unanswered.setdefault(contact, set()).add(name)
    for contact, (_last, later) in allowed.items():
        later |= unanswered.get(contact, set())
    checked.patched_acknowledged = len(allowed)
    query = sql.SQL("SELECT public_id, {} FROM {} WHERE organization_id = %s AND {} = ANY(%s)")

    def rows(column: str, by: str, values: list[str]) -> dict[str, str]:
        statement = query.format(sql.Identifier(column), sql.Identifier(table), sql.Identifier(by))
        return dict(connection.execute(statement, (organization_pk, values)).fetchall())

    with connect() as connection:
        emails = rows("email", "public_id", [contact for contact, _email in created])
        present = set(rows("email", "email", [email for email, *_ in unacknowledged]).values())
        names = rows("name", "public_id", list(allowed))
    checked.written_unacknowledged = [item for item in unacknowledged if item[0] in present]
    checked.unacknowledged_present = len(checked.written_unacknowledged)
    for contact, email in created:
        if emails.get(contact) == email:
            checked.created_found += 1
        else:
            checked.missing.append(contact)
    for contact, (last, later) in allowed.items():
        if names.get(contact) == last:
            checked.patched_found += 1
        elif names.get(contact) in later:
            checked.patched_found += 1
            checked.patched_later += 1
        else:
            checked.missing.append(contact)
    return checked


@contextmanager
def connect() -> Iterator[psycopg.Connection[Any]]:
    """A connection to the run's database, waiting for it to come up."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        try:
            connection = psycopg.connect(DATABASE_URL, connect_timeout=5)
            break
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with connection:
        yield connection


# -- a phase ------------------------------------------------------------------------------------


@dataclass
class LogCount:
    seconds: float = 0.0
    lines: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    traceback_lines: int = 0
    tracebacks: int = 0
    exceptions: Counter[str] = field(default_factory=Counter)  # each traceback's last line


def exception_line(line: str) -> bool:
    """Inside a traceback: whether the line names an exception (frames and continued
    messages are indented)."""
    return (
        bool(line.strip()) and not line[0].isspace() and not line.startswith((TRACEBACK, *CHAINED))
    )


def count_log(lines: list[tuple[float, str]], start: float, end: float) -> LogCount:
    """The log lines that arrived in [start, end): records by level, and the lines of
    tracebacks (from `Traceback (most recent call last):` to the next record; a chained one
    counts each of its `Traceback` headers), with the exception each block ended with."""
    counted = LogCount(seconds=end - start)
    inside = False  # in a traceback block that began inside the window
    last = ""
    for when, line in lines:
        in_window = start <= when < end
        record = APP_RECORD.match(line) or GUNICORN_RECORD.match(line)
        json_record = line.startswith("{")
        if record or json_record:
            if inside:
                counted.exceptions[last[:160]] += 1
            inside = False
        if line.startswith(TRACEBACK):
            inside = in_window
        if not in_window:
            continue
        counted.lines += 1
        if record:
            counted.levels[record.group(1)] += 1
        elif json_record:
            level = re.search(r'"(?:levelname|level)":\s*"([A-Za-z]+)"', line)
            counted.levels[level.group(1).upper() if level else "?"] += 1
            if TRACEBACK in line:  # the whole traceback is in the record
                counted.tracebacks += 1
                counted.traceback_lines += 1
        if inside:
            counted.traceback_lines += 1
            if line.startswith(TRACEBACK):
                counted.tracebacks += 1
            elif exception_line(line):
                last = line
    if inside:
        counted.exceptions[last[:160]] += 1
    return counted


def request_exception(lines: list[tuple[float, str]], request_id: str) -> str:
    """The exception line of the first traceback logged for the request (by its id), or the
    request's own log line when it has none."""
    mark = f"[{request_id}]"
    found = ""
    for number, (_when, line) in enumerate(lines):
        if mark not in line:
            continue
        found = found or line
        if " ERROR " not in line:
            continue
        exception = ""
        for _later, follow in lines[number + 1 :]:
            if APP_RECORD.match(follow) or GUNICORN_RECORD.match(follow):
                break
            if exception_line(follow):
                exception = follow
        return exception or line
    return found or "nothing logged"


@dataclass
class Phase:
    name: str
    clients: int
    seconds: float
    fault: Fault
    began: float
    log: ClientLog
    window: LogCount
    checked: Checked
    ready_after: float | None  # seconds to /readyz 200 after the phase; None: never
    patch: bool  # PATCHes were in the mix
    written: list[str]  # POSTs written without a 2xx: what the client got, what the log says
    whole: LogCount  # the log of the whole phase


def merge(logs: list[ClientLog]) -> ClientLog:
    merged = ClientLog()
    for log in logs:
        merged.samples += log.samples
        merged.connections += log.connections
        for status, bodies in log.bodies.items():
            merged.bodies.setdefault(status, Counter()).update(bodies)
        merged.retry_after.update(log.retry_after)
        merged.created += log.created
        merged.unacknowledged += log.unacknowledged
        merged.patches += log.patches
    return merged


def run_phase(
    phase: str,
    clients: int,
    *,
    target: Target,
    servers: Servers,
    seconds: float,
    fault_at: float,
    contact_table: str,
    organization_pk: int,
) -> Phase:
    stop = threading.Event()
    logs = [ClientLog() for _ in range(clients)]
    # Earlier phases' lines are counted already (the log file keeps them all); a DB outage
    # logs a quarter of a million of them.
    del servers.gunicorn.lines[: len(servers.gunicorn.lines)]
    began = time.perf_counter()
    threads = [
        threading.Thread(
            target=client_loop,
            args=(index, clients, target, phase, began, stop, logs[index]),
            daemon=True,
        )
        for index in range(clients)
    ]
    try:
        for thread in threads:
            thread.start()
        stop.wait(fault_at)
        fault = inject(phase, servers)
        end = max(began + seconds, (fault.end or 0.0) + AFTER_FAULT)
        stop.wait(max(0.0, end - time.perf_counter()))
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
    elapsed = time.perf_counter() - began
    ready_began = time.monotonic()
    ready = wait_ready(HTTP_PORT, READY_TIMEOUT)
    ready_after = time.monotonic() - ready_began if ready else None
    if fault.start is not None and fault.end is not None:
        window = count_log(servers.gunicorn.lines, fault.start, fault.end + LOG_GRACE)
    else:
        window = count_log(servers.gunicorn.lines, began, began + elapsed)
    merged = merge(logs)
    checked = check_writes(
        contact_table, organization_pk, merged.created, merged.unacknowledged, merged.patches
    )
    written = [
        f"`{request_id}` got {outcome}; its log: `{logged[:200]}`"
        for _email, request_id, outcome in checked.written_unacknowledged
        for logged in [request_exception(servers.gunicorn.lines, request_id)]
    ]
    return Phase(
        phase,
        clients,
        elapsed,
        fault,
        began,
        merged,
        window,
        checked,
        ready_after,
        target.patch,
        written,
        count_log(servers.gunicorn.lines, began, began + elapsed + LOG_GRACE),
    )


# -- the report ---------------------------------------------------------------------------------


def statuses(samples: list[tuple[float, float, int, str, str]]) -> str:
    counts = Counter(
        f"{status}" if status else f"no answer: {failure}"
        for _start, _ms, status, failure, _op in samples
        if not 200 <= status < 300
    )
    return ", ".join(f"{name}: {count}" for name, count in sorted(counts.items())) or "none"


def percentiles(samples: list[tuple[float, float, int, str, str]]) -> tuple[str, str]:
    times = [ms for _start, ms, _status, _failure, _op in samples]
    if not times:
        return "-", "-"
    return f"{rank(times, 50):.1f} ms", f"{rank(times, 99):.1f} ms"


def fault_window(phase: Phase) -> tuple[float, float] | None:
    if phase.fault.start is None or phase.fault.end is None:
        return None
    return phase.fault.start - phase.began, phase.fault.end - phase.began


def phase_rows(phase: Phase) -> tuple[str, str]:
    samples = phase.log.samples
    ok = sum(1 for sample in samples if 200 <= sample[2] < 300)
    p50, p99 = percentiles(samples)
    window = fault_window(phase)
    load_row = (
        f"| {phase.name} | {len(samples)} | {len(samples) / phase.seconds:.0f} | {ok} "
        f"| {statuses(samples)} | {p50} | {p99} | {phase.log.connections} |"
    )
    if window is None:
        during = "-"
        errors = "-"
        recovery = "-"
        where = f"whole phase ({phase.seconds:.0f} s)"
    else:
        start, end = window
        inside = [s for s in samples if start <= s[0] < end]
        # every failure that ended after the fault began
        failed = [s for s in samples if s[0] + s[1] / 1000 >= start and not 200 <= s[2] < 300]
        during = f"{len(inside)} ({statuses(inside)})"
        errors, recovery = "none", "none after"
        if failed:
            first = min(s[0] + s[1] / 1000 for s in failed) - start
            last = max(s[0] + s[1] / 1000 for s in failed)  # when it ended
            errors = f"+{first:.2f} to +{last - start:.2f} s"
            if last > end:
                recovery = f"{last - end:.2f} s"
        where = f"{start:.1f}-{end:.1f} s (+{LOG_GRACE:g} s)"
    window_log = phase.window
    severe = window_log.levels["ERROR"] + window_log.levels["CRITICAL"]
    checked = phase.checked
    patched = (
        f"{checked.patched_found}/{checked.patched_acknowledged}"
        + (
            f" ({checked.patched_later} with a name not acknowledged)"
            if checked.patched_later
            else ""
        )
        if phase.patch
        else "-"
    )
    fault_row = (
        f"| {phase.name} | {phase.fault.note} | {where} | {during} | {errors} | {recovery} "
        f"| {window_log.lines} ({severe} ERROR or CRITICAL, "
        f"{severe / window_log.seconds:.1f}/s; {window_log.levels['WARNING']} WARNING) "
        f"| {window_log.traceback_lines} ({window_log.tracebacks}) "
        f"| {checked.created_found}/{checked.created_acknowledged} "
        f"| {checked.unacknowledged_present}/{checked.unacknowledged} | {patched} "
        f"| {'-' if phase.ready_after is None else f'{phase.ready_after:.1f} s'} |"
    )
    return load_row, fault_row


def details(phase: Phase) -> list[str]:
    """Answers other than 2xx by operation (their bodies, Retry-After), POSTs written
    without a 2xx, and the exceptions the log's tracebacks in the phase ended with."""
    by_op = Counter(
        (op, str(status or failure))
        for _start, _ms, status, failure, op in phase.log.samples
        if not 200 <= status < 300
    )
    out = []
    if by_op:
        parts = ", ".join(f"{op} {what}: {count}" for (op, what), count in sorted(by_op.items()))
        out.append(f"  - not 2xx, by operation: {parts}")
    for status, bodies in sorted(phase.log.bodies.items()):
        total = sum(bodies.values())
        retry = phase.log.retry_after[status]
        shown = "; ".join(f"`{body}`: {count}" for body, count in bodies.most_common(3))
        out.append(f"  - {status}, {total} answers (Retry-After on {retry}): {shown}")
    unanswered = [
        (start, ms, failure, op)
        for start, ms, status, failure, op in phase.log.samples
        if not status
    ]
    if unanswered:
        shown = ", ".join(
            f"{op} at {start:.2f}+{ms / 1000:.2f} s ({failure})"
            for start, ms, failure, op in sorted(unanswered)[:10]
        )
        out.append(f"  - without an answer (began at + lasted): {shown}")
    out += [f"  - POST written without a 2xx: {written}" for written in phase.written[:5]]
    for exception, count in phase.whole.exceptions.most_common(4):
        out.append(f"  - traceback ending `{exception.strip()}`: {count}")
    return [f"- **{phase.clients} clients, {phase.name}**:", *out] if out else []


def report(
    header: str,
    args: argparse.Namespace,
    phases: list[Phase],
    warm_ups: list[Phase],
    workers: int,
    worker_class: str,
    target: Target,
    overall: Checked,
) -> list[str]:
    lines = [
        "# Load and faults (bench/faults.py)",
        "",
        header,
        "",
        *(
            [
                f"**Smoke run** (phases of {args.seconds:g} s): it shows the harness works and "
                "what the server does under each fault, not figures to compare.",
                "",
            ]
            if args.seconds < 60
            else []
        ),
        f"Command: `python -m bench.faults --clients {args.clients} --seconds {args.seconds:g} "
        f"--phases {','.join(args.phases)} --outage {args.outage:g} --messages {args.messages} "
        f"--rate-limit {args.rate_limit}"
        + (f" --fault-at {args.fault_at:g}" if args.fault_at is not None else "")
        + "`.",
        "",
        f"gunicorn with deploy/gunicorn.conf.py: {workers} `{worker_class}` workers, on "
        f"PostgreSQL {PG_PORT} (a cluster of this run, default configuration) and Redis "
        f"{REDIS_PORT}, `API_RATE_LIMIT={args.rate_limit}`. Demo organization of "
        f"{args.messages:,} messages, "
        f"{len(target.contacts):,} contacts. Mix: 80% reads (contacts `limit=100`, a contact, "
        "conversations `limit=20`), 20% writes ("
        + (
            "POST a contact, PATCH a contact's name"
            if target.patch
            else "POST a contact only: the server answered 405 to `PATCH …/contacts/{id}`"
        )
        + "). Closed loop, one http.client connection a client, kept alive while the server "
        f"keeps it; after a request without an answer a client waits {BACKOFF:g} s.",
        "",
        "How to read the tables: times are seconds from the phase's start. p50 and p99 are of "
        "every request, failed ones included (until they failed). *connections*: TCP "
        "connections opened (as many as requests when the server closes each). The fault's "
        "*window* runs from its start to its end; a request is in it when it began in it; "
        "*failures ended* gives when the first and the last failure (not 2xx) that ended after "
        "the fault began did; the log is counted from the fault's start to "
        f"{LOG_GRACE:g} s after its end (the whole phase for `steady`): every line, the ERROR "
        "and CRITICAL records (and their rate), and the lines inside tracebacks (a chained "
        "traceback counts each of its `Traceback` headers). Writes are checked in the "
        "database after each phase: an acknowledged POST must have its row with its email; a "
        "contact acknowledged PATCHed must hold the name of its last acknowledged PATCH, of "
        "one sent after it without a 2xx, or of one given up without an answer.",
        "",
    ]
    for clients in sorted({phase.clients for phase in phases}):
        mine = [phase for phase in phases if phase.clients == clients]
        lines += [
            f"## {clients} clients",
            "",
            "| phase | requests | req/s | 2xx | not 2xx, by status | p50 | p99 | connections |",
            "|---|---|---|---|---|---|---|---|",
        ]
        rows = [phase_rows(phase) for phase in mine]
        lines += [load_row for load_row, _fault in rows]
        lines += [
            "",
            "| phase | fault | window | requests in it (not 2xx) | failures ended (after the "
            "fault began) | last failure after the fault's end | log lines in window | "
            "traceback lines (tracebacks) | POSTs found/acknowledged | POSTs written without a "
            "2xx/sent | PATCHed contacts found/acknowledged | /readyz 200 after the phase |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        lines += [fault_row for _load, fault_row in rows]
        lines.append("")
    lines += [
        "## Writes, all phases",
        "",
        f"Checked again at the end: POSTs found/acknowledged {overall.created_found}/"
        f"{overall.created_acknowledged}; PATCHed contacts found/acknowledged "
        f"{overall.patched_found}/{overall.patched_acknowledged}"
        + (f"; missing: {', '.join(overall.missing[:20])}" if overall.missing else "")
        + ".",
        "",
        "## Answers other than 2xx, and the log's tracebacks",
        "",
    ]
    for phase in phases:
        lines += details(phase)
    for warm_up in warm_ups:
        if any(not 200 <= status < 300 for _s, _ms, status, *_rest in warm_up.log.samples):
            warm_up.name = f"warm-up before the phases ({WARM_UP:g} s, in no table)"
            lines += details(warm_up)
    lines.append("")
    return lines


# -- the run ------------------------------------------------------------------------------------


def interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def seed(messages: int) -> tuple[Target, str, int, str]:
    """Migrate and seed in this process (then close its connections: the faults must not
    find one open); the load's target, the contacts' table, the organization's key and the
    report's header."""
    harness.fresh_django(DATABASE_URL)
    header = harness.machine()
    from django.db import connections

    from apps.contacts.models import Contact

    organization, api_key, _seconds = harness.seed_demo(messages=messages)
    contacts = list(
        Contact.objects.for_org(organization).order_by("pk").values_list("public_id", flat=True)
    )
    table = Contact._meta.db_table
    connections.close_all()
    target = Target(
        organization.public_id, api_key, contacts, patch=False, run=secrets.token_hex(3)
    )
    return target, table, organization.pk, header


def probe(target: Target) -> Target:
    """A POST must work; whether PATCH …/contacts/{id} is routed decides the mix."""
    base = f"/api/v2/organizations/{target.organization}/contacts"
    headers = {"X-API-KEY": target.api_key, "Content-Type": "application/json"}
    answers = {}
    for method, path, body in (
        ("POST", base, {"name": "Faults probe", "email": f"faults-{target.run}-probe@example.com"}),
        ("PATCH", f"{base}/{target.contacts[0]}", {"name": "Faults probe"}),
    ):
        connection = http.client.HTTPConnection("127.0.0.1", HTTP_PORT, timeout=REQUEST_TIMEOUT)
        try:
            connection.request(method, path, body=json.dumps(body).encode(), headers=headers)
            response = connection.getresponse()
            answers[method] = (response.status, response.read()[:200])
        finally:
            connection.close()
    if answers["POST"][0] != 200:
        raise SystemExit(f"POST {base} answered {answers['POST']}: nothing to measure")
    patch = answers["PATCH"][0] == 200
    if not patch:
        say(f"PATCH {base}/{{id}} answered {answers['PATCH']}: the writes are POSTs only")
    return Target(target.organization, target.api_key, target.contacts, patch, target.run)


def keep_log(source: Path, name: str) -> None:
    if source.exists():
        shutil.copy(source, harness.RESULTS / name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", default="8,32,64", help="client counts, comma-separated")
    parser.add_argument("--seconds", type=float, default=120.0, help="load of each phase")
    parser.add_argument(
        "--phases",
        type=lambda value: value.split(","),
        default=list(PHASES),
        help=f"comma-separated, of {','.join(PHASES)} (default: all, in that order)",
    )
    parser.add_argument("--fault-at", type=float, help="seconds into a phase (default: 1/4 of it)")
    parser.add_argument(
        "--outage", type=float, default=10.0, help="seconds PostgreSQL/Redis is down"
    )
    parser.add_argument("--messages", type=int, default=20_000, help="of the demo organization")
    parser.add_argument(
        "--rate-limit",
        default=RATE_LIMIT,
        help="the server's API_RATE_LIMIT (default %(default)s: never reached, but every "
        "request is counted in Redis; 0 leaves Redis out of the API's requests)",
    )
    args = parser.parse_args()
    levels = [int(value) for value in args.clients.split(",")]
    unknown = set(args.phases) - set(PHASES)
    if unknown:
        parser.error(f"unknown phase(s) {', '.join(sorted(unknown))}")
    busy = [port for port in (HTTP_PORT, PG_PORT, REDIS_PORT) if not port_free(port)]
    if busy:
        raise SystemExit(f"port(s) {busy} taken on 127.0.0.1 (a run still going, or its leftover?)")
    fault_at = args.fault_at if args.fault_at is not None else args.seconds / 4
    signal.signal(signal.SIGTERM, interrupted)
    started = time.monotonic()
    os.environ["DATABASE_URL"] = DATABASE_URL  # this process and gunicorn; never another one
    harness.RESULTS.mkdir(exist_ok=True)
    directory = Path(tempfile.mkdtemp(prefix="hyperrep-faults-"))
    phases: list[Phase] = []
    warm_ups: list[Phase] = []
    lines: list[str] = []
    try:
        with ExitStack() as stack:
            stack.callback(shutil.rmtree, directory, ignore_errors=True)
            postgres = Postgres(directory)
            stack.callback(keep_log, postgres.log, "faults-postgres.log.tmp")
            postgres.init()
            stack.callback(postgres.shut_down)
            postgres.start()
            say(f"PostgreSQL {postgres.bin.parent.name} on 127.0.0.1:{PG_PORT}, in {directory}")
            target, table, organization_pk, header = seed(args.messages)
            if len(target.contacts) < max(levels):
                raise SystemExit(f"{len(target.contacts)} contacts, fewer than clients")
            redis = Redis(directory / "redis")
            stack.callback(keep_log, redis.log, "faults-redis.log.tmp")
            stack.callback(redis.stop)
            redis.start()
            env = {
                **os.environ,
                "BIND": f"127.0.0.1:{HTTP_PORT}",
                "DJANGO_SETTINGS_MODULE": "hyperrep.settings",
                "DATABASE_URL": DATABASE_URL,
                "REDIS_URL": REDIS_URL,
                "API_RATE_LIMIT": args.rate_limit,
                "DEBUG": "0",
                # deploy/gunicorn.conf.py makes one in /tmp unless named: this run's, removed
                "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
            }
            (directory / "metrics").mkdir()
            server = Gunicorn(env, harness.RESULTS / "faults-gunicorn.log.tmp")
            stack.callback(server.stop)
            server.start()
            workers = len(server.workers())
            say(f"gunicorn on 127.0.0.1:{HTTP_PORT}: {workers} {server.worker_class()} workers")
            servers = Servers(postgres, redis, server, args.outage)
            target = probe(target)

            def phase(name: str, clients: int, seconds: float, fault_at: float) -> Phase:
                return run_phase(
                    name,
                    clients,
                    target=target,
                    servers=servers,
                    seconds=seconds,
                    fault_at=fault_at,
                    contact_table=table,
                    organization_pk=organization_pk,
                )

            for clients in levels:
                warm_ups.append(phase("steady", clients, WARM_UP, WARM_UP))  # in no table
                for name in args.phases:
                    say(f"{clients} clients, {name}: {args.seconds:g} s")
                    done = phase(name, clients, args.seconds, fault_at)
                    phases.append(done)
                    for row in phase_rows(done):
                        say(row)
                    if done.ready_after is None:
                        say(f"/readyz not 200 within {READY_TIMEOUT:g} s after {name}")
                    elif len(server.workers()) < workers:
                        say(f"{len(server.workers())} of {workers} workers after {name}")
            overall = check_writes(
                table,
                organization_pk,
                [row for done in phases for row in done.log.created],
                [item for done in phases for item in done.log.unacknowledged],
                [patch for done in phases for patch in done.log.patches],
            )
            lines = report(
                header, args, phases, warm_ups, workers, server.worker_class(), target, overall
            )
            lines.append(f"The whole run took {time.monotonic() - started:.0f} s.")
    finally:
        if lines:
            harness.write_report("faults.md", lines)
            print("\n".join(lines))
        elif phases:
            say(f"stopped after {len(phases)} phase(s): no report written")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        say("interrupted; what it started is stopped and its temporary directory removed")
        sys.exit(130)
