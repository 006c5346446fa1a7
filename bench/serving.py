"""The worker model, measured: gunicorn's sync workers (the former default), stock gthread, and
hyperrep.serving.BufferedThreadWorker at a few workers x threads, side by side in one run:

    .venv/bin/python -m bench.serving [--seconds 2.5] [--rounds 5]    # about 4 minutes

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_ha; its name must contain "bench", as it
   is dropped), migrates it and seeds it (bench/seed_contacts.py: 200,000 contacts).
2. Starts one gunicorn per configuration at once, each on its own free loopback port
   (deploy/gunicorn.conf.py, settings bench.settings; GUNICORN_CMD_ARGS sets the worker class
   and counts, as it overrides the configuration file).
3. Loads `GET /api/v2/organizations/{org}/contacts?limit=100` with 1 and 8 closed-loop clients
   (bench/load.py), every configuration once a round, in an order that rotates from round to
   round, so that each one runs as often early and late in a round.
4. Slow clients: against each configuration in turn, holds connections open (SCENARIOS:
   partial requests sent a byte a second, or whole requests whose answers are never read) and
   measures `GET /healthz` meanwhile, one client for HEALTHZ_SECONDS.

Results go to bench/results/serving.md; gunicorn's logs to bench/results/*.log.tmp.
"""

import argparse
import os
import re
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress

from bench import harness, load

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_ha"
LIMIT = 100
CLIENTS = (1, 8)
# name: gunicorn arguments. The sync worker needs --threads 1: with more, gunicorn would run
# gthread instead.
CONFIGURATIONS = {
    "sync 4": "--worker-class sync --workers 4 --threads 1",
    "gthread 4x4": "--worker-class gthread --workers 4 --threads 4",
    "buffered 2x4": "--workers 2 --threads 4",
    "buffered 4x4": "--workers 4 --threads 4",
    "buffered 2x8": "--workers 2 --threads 8",
}
BASELINE = "sync 4"
SLOW = 48  # three times the most threads of any configuration (16)
HEALTHZ_SECONDS = 5.0


def main() -> None:
    parser = argparse.ArgumentParser(description="Worker model benchmark (PostgreSQL).")
    parser.add_argument("--seconds", type=float, default=2.5, help="length of one load run")
    parser.add_argument("--rounds", type=int, default=5, help="load runs per configuration")
    args = parser.parse_args()

    started = time.monotonic()
    # One API key sends every request: its budget (1200 a minute) would answer 429 mid-run.
    os.environ["API_RATE_LIMIT"] = "0"
    harness.fresh_django(DEFAULT_DATABASE_URL)
    from bench.seed_contacts import seed

    seeded = seed()
    harness.say(f"seeded {seeded.contacts} contacts")
    lines = [f"# Worker model benchmark: results\n\n{harness.machine()}\n"]
    path = f"/api/v2/organizations/{seeded.organization_id}/contacts?limit={LIMIT}"
    with servers() as ports:
        lines += loads(ports, path, seeded.api_key, seconds=args.seconds, rounds=args.rounds)
        lines += slow_clients(ports)
    lines.append(f"Whole run: {time.monotonic() - started:.0f} s.\n")
    harness.write_report("serving.md", lines)


@contextmanager
def servers() -> Iterator[dict[str, int]]:
    """Every configuration's gunicorn, at once; their ports by name."""
    ports = {}
    with ExitStack() as stack:
        for name, arguments in CONFIGURATIONS.items():
            slug = re.sub(r"\W+", "-", name)
            log = harness.RESULTS / f"serving-{slug}.log.tmp"
            os.environ["GUNICORN_CMD_ARGS"] = f"{arguments} --error-logfile {log}"
            try:
                ports[name] = stack.enter_context(harness.gunicorn())
            finally:
                del os.environ["GUNICORN_CMD_ARGS"]
            harness.say(f"{name}: 127.0.0.1:{ports[name]}")
        yield ports


def loads(
    ports: dict[str, int], path: str, api_key: str, *, seconds: float, rounds: int
) -> list[str]:
    headers = {"X-API-KEY": api_key}
    names = list(ports)
    runs: dict[tuple[str, int], list[load.LoadResult]] = {}
    for level in CLIENTS:
        for port in ports.values():  # warm-up, not recorded
            load.run(harness.url(port, path), headers=headers, clients=level, seconds=1)
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                result = load.run(
                    harness.url(ports[name], path), headers=headers, clients=level, seconds=seconds
                )
                assert result.errors == 0, f"{result.errors} non-200 answers from {name}"
                runs.setdefault((name, level), []).append(result)
                harness.say(f"{name:13} {result.summary()}")

    out = [
        "## Load: the contacts list\n",
        f"`GET /api/v2/organizations/{{org}}/contacts?limit={LIMIT}` (100 rows, about 27 KiB), "
        f"each configuration's gunicorn (deploy/gunicorn.conf.py) running side by side; "
        f"closed-loop clients (bench/load.py: a new connection a request, `Connection: close`), "
        f"{rounds} rounds of {seconds:g} s per configuration and level, in an order that rotates "
        f"each round; the figures pool the rounds. Against {BASELINE}: the median of the "
        f"rounds' ratios (each ratio compares two runs of the same round).\n",
        f"| clients | configuration | req/s | p50 | p99 | rounds' req/s | req/s against "
        f"{BASELINE} |",
        "|---|---|---|---|---|---|---|",
    ]
    for level in CLIENTS:
        for name in names:
            merged = load.LoadResult.merge(runs[(name, level)])
            ratios = [
                mine.rps / base.rps
                for mine, base in zip(runs[(name, level)], runs[(BASELINE, level)], strict=True)
            ]
            per_round = ", ".join(f"{r.rps:.0f}" for r in runs[(name, level)])
            out.append(
                f"| {level} | {name} | {merged.rps:.0f} | {merged.percentile(50):.2f} ms "
                f"| {merged.percentile(99):.2f} ms | {per_round} "
                f"| {statistics.median(ratios):.0%} |"
            )
    return [*out, ""]


HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
BODY = (
    b"POST /api/v2/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
)
WHOLE = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
# name: what each connection sends first, whether it then sends a byte a second, how many.
SCENARIOS = {
    "partial heads and bodies, a byte a second": ([HEAD, BODY], True, SLOW),
    "whole requests, answers never read, never closed": ([WHOLE], False, 16),
}


class SlowClients:
    """Connections that send `first[n % len(first)]`, then (`trickle`) a byte a second, and
    never read nor close until the end."""

    def __init__(self, port: int, first: list[bytes], trickle: bool, count: int) -> None:
        self.port, self.first, self.count = port, first, count
        self.connections: list[socket.socket] = []
        self.stop = threading.Event()
        self.feeder = threading.Thread(target=self.trickle) if trickle else None

    def __enter__(self) -> "SlowClients":
        try:
            for number in range(self.count):
                connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
                self.connections.append(connection)
                connection.sendall(self.first[number % len(self.first)])
            if self.feeder is not None:
                self.feeder.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def trickle(self) -> None:
        while not self.stop.wait(1):
            for connection in self.connections:
                with suppress(OSError):  # closed by the server
                    connection.send(b"a")

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        if self.feeder is not None and self.feeder.is_alive():
            self.feeder.join()
        for connection in self.connections:
            connection.close()


def slow_clients(ports: dict[str, int]) -> list[str]:
    out = [
        "## Slow clients\n",
        f"Against each configuration in turn, connections held open: {SLOW} that send part of "
        f"their headers or the headers and part of a POST's body (Content-Length 1000), then a "
        f"byte a second each; or 16 that send a whole `GET /healthz` with `Connection: close`, "
        f"then never read the answer nor close. Meanwhile one client sends `GET /healthz` on a "
        f"new connection after each answer, for {HEALTHZ_SECONDS:g} s (bench/load.py's closed "
        f"loop; it gives up on a request after 10 s, and stops there).\n",
        "| held connections | configuration | /healthz answered | p50 | p99 | slowest "
        "| no answer within 10 s |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario, (first, trickle, count) in SCENARIOS.items():
        for name, port in ports.items():
            with SlowClients(port, first, trickle, count):
                time.sleep(0.5)  # every slow connection has been accepted (or queued) by now
                result = load.closed_loop(
                    port, lambda _n: WHOLE, clients=1, seconds=HEALTHZ_SECONDS, ok=b"HTTP/1.1 200"
                )
            harness.say(f"{name:13} {scenario}: {result.summary()}")
            if result.latencies_ms:
                figures = (
                    f"{result.percentile(50):.2f} ms | {result.percentile(99):.2f} ms "
                    f"| {max(result.latencies_ms):.0f} ms"
                )
            else:
                figures = "- | - | -"
            out.append(
                f"| {count} {scenario} | {name} | {result.requests} | {figures} | {result.errors} |"
            )
    return [*out, ""]


if __name__ == "__main__":
    main()
