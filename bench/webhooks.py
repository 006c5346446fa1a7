"""Webhook deliveries on PostgreSQL, end to end:

    .venv/bin/python -m bench.webhooks [--events 10000] [--rate 200] [--seconds 10]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_webhooks; its name must contain
   "bench", as it is dropped), migrates it and seeds the demo organization (2,000 messages,
   200 contacts). The server runs with WEBHOOKS_ALLOW_HTTP=1 and
   WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1 (this process and the workers): the receiver is an
   asyncio HTTP server in this process on 127.0.0.1 that answers every POST 204 and notes,
   for each `webhook-id`, when it arrived (time.time()), and keeps 1 request in 100 for the
   signature check.
2. The write path: `POST /api/v2/organizations/<org>/contacts` in this process (Django's
   test client), with 0, 1 and 2 subscribed endpoints: SQL statements a request by kind
   (CaptureQueriesContext; target: at most one INSERT more an endpoint) and milliseconds a
   request. Those endpoints are then deleted, and one endpoint subscribed to `["*"]` made.
3. Lag: with 4, then 1 `manage.py worker` running, `--rate` events a second for `--seconds`
   (`apps.webhooks.events.emit(org, "contact.created", contact)` over the demo's contacts,
   100 a transaction); each event's lag runs from its transaction's commit to its arrival
   at the receiver (target with 4 workers: p50 <= 1 s).
4. Where a delivery's time goes: one worker in this process sends 500 deliveries, with every
   SQL statement timed (round trip included), the address check (DNS) and the HTTP POST.
5. Throughput: `--events` events recorded with no worker running (500 a transaction), then
   drained by 1, then 4 `manage.py worker --until-idle` processes, timed until the receiver
   has them all (target with 4: at least 300 deliveries/s), with the CPU time a delivery of
   the workers, of PostgreSQL (read from /proc: the database must be on this machine) and of
   the receiver (this process).
6. Checks: 1 delivery in 100 received has its `webhook-signature` verified with
   `apps.webhooks.signing.signature` and the endpoint's secret; every delivery must end
   `succeeded`; repeated `webhook-id`s are counted.

Results go to bench/results/webhooks.md. SECRET_KEY is random unless set. The machine's
cores are shared by the workers, PostgreSQL and this process (emitting and receiving).
"""

import argparse
import asyncio
import json
import logging
import os
import signal
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import harness
from bench.delivery import (
    children_cpu_seconds,
    free_port,
    postgres_cpu_seconds,
    worker_processes,
)
from bench.inbound import LockWaits
from bench.load import rank

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_webhooks"
SEED_MESSAGES = 2_000
STEADY_BATCH = 100  # events a transaction while the workers run
FILL_BATCH = 500  # events a transaction before a throughput run
WRITE_REQUESTS = 50  # POSTs measured per endpoint count
PROFILED = 500
SAMPLE_EVERY = 100  # one received request in this many has its signature checked
ARRIVAL_TIMEOUT = 120  # seconds to wait for the last delivery of a phase
NO_CONTENT = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


class Receiver:
    """An asyncio HTTP/1.1 server on 127.0.0.1 in a thread of this process: answers every
    request 204, keeps when each `webhook-id` arrived (time.time()) and every SAMPLE_EVERY-th
    request's (id, timestamp, signature, body)."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.duplicates = 0
        self.requests = 0
        self.malformed = 0
        self.connections = 0
        self.samples: list[tuple[str, str, str, bytes]] = []
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, name="receiver", daemon=True)
        self.ready = threading.Event()
        self.server: asyncio.Server | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port, backlog=1024)
        )
        self.ready.set()
        self.loop.run_forever()
        self.server.close()
        self.loop.run_until_complete(self.server.wait_closed())
        self.loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the client closed the connection
                headers: dict[str, str] = {}
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                when = time.time()
                self.requests += 1
                message_id = headers.get("webhook-id")
                if message_id is None:
                    self.malformed += 1
                elif message_id in self.arrived:
                    self.duplicates += 1
                else:
                    self.arrived[message_id] = when
                    if self.requests % SAMPLE_EVERY == 0:
                        self.samples.append(
                            (
                                message_id,
                                headers.get("webhook-timestamp", ""),
                                headers.get("webhook-signature", ""),
                                body,
                            )
                        )
                writer.write(NO_CONTENT)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, ValueError):
            self.malformed += 1
        finally:
            writer.close()

    def __enter__(self) -> "Receiver":
        self.thread.start()
        if not self.ready.wait(timeout=10):
            raise SystemExit("the receiver did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def wait_for(self, ids: Any, timeout: float) -> int:
        """Wait until every id of `ids` has arrived, at most `timeout` s; how many did not."""
        deadline = time.monotonic() + timeout
        missing = [key for key in ids if key not in self.arrived]
        while missing and time.monotonic() < deadline:
            time.sleep(0.01)
            missing = [key for key in missing if key not in self.arrived]
        return len(missing)


# -- recording events ---------------------------------------------------------------------------


def record_events(
    organization: Any, contacts: list[Any], count: int, batch: int, offset: int = 0
) -> tuple[list[str], float]:
    """`count` contact.created events through `emit`, `batch` a transaction: their event ids
    and the seconds it took."""
    from django.db import transaction

    from apps.webhooks.events import emit
    from apps.webhooks.models import Delivery

    deliveries = Delivery.objects.unscoped()
    last = deliveries.order_by("-pk").values_list("pk", flat=True).first() or 0
    began = time.perf_counter()
    for start in range(0, count, batch):
        with transaction.atomic():
            for number in range(start, min(count, start + batch)):
                emit(organization, "contact.created", contacts[(offset + number) % len(contacts)])
    seconds = time.perf_counter() - began
    ids = list(deliveries.filter(pk__gt=last).order_by("pk").values_list("event_id", flat=True))
    if len(ids) != count:
        raise SystemExit(f"{len(ids)} deliveries recorded for {count} events")
    return ids, seconds


def steady(
    organization: Any,
    contacts: list[Any],
    receiver: Receiver,
    *,
    workers: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Events at `rate` a second for `seconds`, STEADY_BATCH a transaction, while `workers`
    worker processes run: the lag of each (arrival minus its transaction's commit, inf when
    it never arrived) and the rate the events were recorded at."""
    from django.db import transaction

    from apps.webhooks.events import emit
    from apps.webhooks.models import Delivery

    deliveries = Delivery.objects.unscoped()
    committed: dict[str, float] = {}
    transactions: list[float] = []  # seconds each batch's transaction took, commit included
    batches = max(1, round(rate * seconds / STEADY_BATCH))
    cpu = (children_cpu_seconds(), postgres_cpu_seconds())
    with worker_processes(workers, until_idle=False) as processes, LockWaits() as waits:
        settled = wait_idle(processes)
        last = deliveries.order_by("-pk").values_list("pk", flat=True).first() or 0
        began = time.time()
        for number in range(batches):
            pause = began + number * STEADY_BATCH / rate - time.time()
            if pause > 0:
                time.sleep(pause)
            opened = time.perf_counter()
            with transaction.atomic():
                for event in range(STEADY_BATCH):
                    contact = contacts[(number * STEADY_BATCH + event) % len(contacts)]
                    emit(organization, "contact.created", contact)
            when = time.time()
            transactions.append(time.perf_counter() - opened)
            rows = list(deliveries.filter(pk__gt=last).values_list("pk", "event_id"))
            last = max([last, *(pk for pk, _ in rows)])
            for _pk, event_id in rows:
                committed[event_id] = when
        recorded = time.time() - began
        missing = receiver.wait_for(committed, ARRIVAL_TIMEOUT)
        window = time.time() - began + settled
    postgres = postgres_cpu_seconds()
    lags = [receiver.arrived.get(key, float("inf")) - at for key, at in committed.items()]
    return {
        "events": len(committed),
        "recorded_rate": len(committed) / recorded,
        "transaction_ms": statistics.median(transactions) * 1000,
        "lags": lags,
        "missing": missing,
        "settled": settled,
        "locks": waits.summary(),
        # CPU seconds a second of the phase (the workers' start and idle wait included)
        "cpu_workers": (children_cpu_seconds() - cpu[0]) / window,
        "cpu_postgres": (
            (postgres - cpu[1]) / window
            if postgres is not None and cpu[1] is not None
            else float("nan")
        ),
    }


def wait_idle(processes: list[Any], timeout: float = 30) -> float:
    """Wait until every process has started and idles (less than 10% of a core over 0.5 s,
    from /proc), at most `timeout` s; the seconds waited."""

    def ticks(pid: int) -> int:
        try:
            text = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return 0
        fields = text[text.rindex(")") + 2 :].split()
        return int(fields[11]) + int(fields[12])  # utime stime

    began = time.monotonic()
    time.sleep(1)
    before = [ticks(process.pid) for process in processes]
    while time.monotonic() - began < timeout:
        time.sleep(0.5)
        now = [ticks(process.pid) for process in processes]
        busy = [(b - a) / os.sysconf("SC_CLK_TCK") / 0.5 for a, b in zip(before, now, strict=True)]
        if all(share < 0.1 for share in busy):
            break
        before = now
    return time.monotonic() - began


# -- where a delivery's time goes ---------------------------------------------------------------


def profile(organization: Any, contacts: list[Any], receiver: Receiver) -> dict[str, float]:
    """One worker in this process over PROFILED pending deliveries: milliseconds a delivery
    in SQL (by kind), in the address check and in the HTTP POST (which includes it)."""
    from apps.webhooks import addresses, handlers
    from hyperrep.outbox.worker import Worker

    ids, _seconds = record_events(organization, contacts, PROFILED, FILL_BATCH)
    spent = {"resolve": 0.0, "post": 0.0}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - began

        return wrapper

    originals = (addresses.resolve, handlers.post)
    # The worker takes SIGTERM and SIGINT over: this process's own handlers come back after.
    signals = {number: signal.getsignal(number) for number in (signal.SIGTERM, signal.SIGINT)}
    addresses.resolve = timed("resolve", addresses.resolve)
    handlers.post = timed("post", handlers.post)
    try:
        with harness.SQLTimes() as sql:
            began = time.perf_counter()
            Worker(batch=20).run(until_idle=True)
            total = time.perf_counter() - began
    finally:
        addresses.resolve, handlers.post = originals
        for number, handler in signals.items():
            signal.signal(number, handler)
    if receiver.wait_for(ids, 10):
        raise SystemExit("the profiled deliveries did not all arrive")
    per = 1000 / PROFILED
    result = sql.per(PROFILED, "a delivery")
    result["address check (getaddrinfo), in the POST"] = spent["resolve"] * per
    result["HTTP POST (new connection each)"] = spent["post"] * per
    result["all"] = total * per
    return result


# -- throughput ---------------------------------------------------------------------------------


def throughput(
    organization: Any, contacts: list[Any], receiver: Receiver, events: int, workers: int
) -> dict[str, float]:
    """`events` events recorded first, then drained by `workers` worker processes; the
    deliveries a second (from the workers' start, and from the first to the last arrival)
    and the CPU milliseconds a delivery of the workers, PostgreSQL and the receiver."""
    ids, recorded = record_events(organization, contacts, events, FILL_BATCH)
    harness.say(f"recorded {events} events in {recorded:.1f} s ({events / recorded:.0f}/s)")
    cpu = (children_cpu_seconds(), postgres_cpu_seconds(), time.process_time())
    began = time.time()
    with worker_processes(workers, until_idle=True) as processes:
        missing = receiver.wait_for(ids, ARRIVAL_TIMEOUT * 3)
        for process in processes:
            process.wait(timeout=60)
    if missing:
        raise SystemExit(f"{missing} of {events} deliveries did not arrive")
    receiver_cpu = time.process_time() - cpu[2]
    arrivals = [receiver.arrived[key] for key in ids]
    postgres_before, postgres_after = cpu[1], postgres_cpu_seconds()
    per = 1000 / events
    return {
        "record_rate": events / recorded,
        "rate": events / (max(arrivals) - began),
        "rate_sending": (events - 1) / (max(arrivals) - min(arrivals)),
        "first": min(arrivals) - began,
        "workers": (children_cpu_seconds() - cpu[0]) * per,
        "postgres": (
            (postgres_after - postgres_before) * per
            if postgres_before is not None and postgres_after is not None
            else float("nan")
        ),
        "receiver": receiver_cpu * per,
    }


# -- the write path -----------------------------------------------------------------------------


def write_path(organization: Any, api_key: str) -> tuple[dict[str, Any], list[str]]:
    """`POST …/contacts` with 0, 1 and 2 subscribed endpoints (pointing nowhere reachable:
    no worker runs): SQL statements a request by kind, ms a request; and the statements of
    one request with 2 endpoints."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from apps.webhooks.services import endpoint_create, endpoint_delete

    client = Client(HTTP_X_API_KEY=api_key)  # Host: testserver
    path = f"/api/v2/organizations/{organization.public_id}/contacts"
    results: dict[str, Any] = {}
    statements: list[str] = []
    endpoints = []
    number = 0

    def post() -> Any:
        nonlocal number
        number += 1
        body = {"name": f"Bench {number}", "email": f"bench{number}@mail.bench.example"}
        response = client.post(path, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content[:300]
        return response

    for count, events in ((0, None), (1, ["contact.created"]), (2, ["*"])):
        if events is not None:
            endpoints.append(
                endpoint_create(
                    organization=organization, url="http://127.0.0.1:9/unreachable", events=events
                )[0]
            )
        post()  # warm-up, not counted
        kinds: Counter[str] = Counter()
        seconds: list[float] = []
        for _ in range(WRITE_REQUESTS):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                post()
                seconds.append(time.perf_counter() - began)
            for query in captured.captured_queries:
                kinds[query["sql"].lstrip().split(None, 1)[0].upper()] += 1
        results[str(count)] = {
            "kinds": {kind: n / WRITE_REQUESTS for kind, n in kinds.items()},
            "ms": statistics.median(seconds) * 1000,
        }
        if count == 2:
            statements = [query["sql"] for query in captured.captured_queries]
    for endpoint in endpoints:
        endpoint_delete(endpoint)  # and its deliveries, never sent
    return results, statements


# -- the run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="Webhook deliveries (PostgreSQL).")
    parser.add_argument("--events", type=int, default=10_000, help="events per throughput run")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of the lag phase")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the lag phase")
    args = parser.parse_args()
    started = time.monotonic()
    # This process and the workers (which inherit the environment) read them at start.
    os.environ["WEBHOOKS_ALLOW_HTTP"] = "1"
    os.environ["WEBHOOKS_ALLOW_PRIVATE_NETWORKS"] = "1"
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,localhost,testserver"
    harness.fresh_django(DEFAULT_DATABASE_URL)
    logging.getLogger("hyperrep.outbox").setLevel(logging.WARNING)  # a line a delivery
    logging.getLogger("hyperrep.webhooks").setLevel(logging.WARNING)
    header = harness.machine()  # the load average before this run's own load
    from apps.contacts.models import Contact
    from apps.keys.services import api_key_create
    from apps.webhooks import signing
    from apps.webhooks.models import Delivery, DeliveryStatus
    from apps.webhooks.services import endpoint_create

    organization, _seeded_key, _seconds = harness.seed_demo(messages=SEED_MESSAGES)
    _key, api_key = api_key_create(organizations=[organization], name="bench")
    contacts = list(Contact.objects.for_org(organization).order_by("pk"))
    harness.say(f"{len(contacts)} contacts")

    harness.say("the write path: POST …/contacts with 0, 1 and 2 endpoints")
    writes, statements = write_path(organization, api_key)
    for count, result in writes.items():
        harness.say(f"{count} endpoint(s): {result['kinds']}, {result['ms']:.1f} ms")

    with Receiver() as receiver:
        _endpoint, secret = endpoint_create(
            organization=organization, url=receiver.url(), events=["*"]
        )
        lags: dict[int, dict[str, Any]] = {}
        for workers in (4, 1):
            harness.say(f"lag: {args.rate:g} events/s for {args.seconds:g} s, {workers} worker(s)")
            lags[workers] = steady(
                organization,
                contacts,
                receiver,
                workers=workers,
                rate=args.rate,
                seconds=args.seconds,
            )
            run = lags[workers]
            harness.say(
                f"{run['events']} events at {run['recorded_rate']:.0f}/s: lag p50"
                f" {rank(run['lags'], 50) * 1000:.0f} ms, max {max(run['lags']) * 1000:.0f} ms,"
                f" {run['missing']} missing; {run['transaction_ms']:.0f} ms a transaction;"
                f" waiting on locks {run['locks']}; workers idle after {run['settled']:.1f} s;"
                f" lag max of the first 100 {max(run['lags'][:100]) * 1000:.0f} ms, of the rest"
                f" {max(run['lags'][100:], default=0) * 1000:.0f} ms"
            )
        harness.say(f"where a delivery's time goes ({PROFILED} in this process)")
        phases = profile(organization, contacts, receiver)
        rates: dict[int, dict[str, float]] = {}
        for workers in (1, 4):
            harness.say(f"throughput: {args.events} events, {workers} worker(s)")
            rates[workers] = throughput(organization, contacts, receiver, args.events, workers)
            harness.say(f"{rates[workers]['rate']:.0f} deliveries/s")

    verified = sum(
        signing.signature(secret, message_id, int(timestamp), body) in signatures.split(" ")
        for message_id, timestamp, signatures, body in receiver.samples
    )
    deliveries = Delivery.objects.unscoped()
    not_succeeded = dict(
        Counter(
            deliveries.exclude(status=DeliveryStatus.SUCCEEDED).values_list("status", flat=True)
        )
    )
    retried = deliveries.filter(attempts__gt=1).count()
    total = deliveries.count()
    harness.say(
        f"signatures: {verified} of {len(receiver.samples)} verified; not succeeded:"
        f" {not_succeeded or 0}; retried {retried}; duplicates {receiver.duplicates}"
    )

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms" if seconds != float("inf") else "never"

    short: list[int] = []
    kinds = sorted({kind for result in writes.values() for kind in result["kinds"]})
    extra_inserts = writes["2"]["kinds"].get("INSERT", 0) - writes["0"]["kinds"].get("INSERT", 0)
    lines = [
        "# Webhooks benchmark: results",
        "",
        header,
        "",
        f"Command: `.venv/bin/python -m bench.webhooks --events {args.events}"
        f" --rate {args.rate:g} --seconds {args.seconds:g}`"
        " (DATABASE_URL postgres://…/hyperrep_bench_webhooks), on the demo organization seeded"
        f" with {SEED_MESSAGES:,} messages ({len(contacts)} contacts). The server (this process"
        " and every worker) runs with **WEBHOOKS_ALLOW_HTTP=1** and"
        " **WEBHOOKS_ALLOW_PRIVATE_NETWORKS=1**, which a receiver at http://127.0.0.1 needs."
        " The receiver is an asyncio HTTP/1.1 server in the benchmark's process on 127.0.0.1"
        " that answers every POST `204` (Content-Length 0) and notes each `webhook-id`'s"
        ' arrival (time.time()). One endpoint, subscribed to `["*"]`; the events are'
        ' `emit(org, "contact.created", contact)` over the demo\'s contacts in turn.',
        "",
        f"The machine has {os.cpu_count()} cores: the workers, PostgreSQL and the benchmark's"
        " process (recording events, receiving) share them.",
        "",
        "## Lag: from the event's commit to its arrival at the receiver",
        "",
        f"`manage.py worker` processes running (started, and idling: less than 10% of a core"
        f" each, before the first event); {args.rate:g} events a"
        f" second for {args.seconds:g} s, {STEADY_BATCH} a transaction (one every"
        f" {STEADY_BATCH / args.rate:g} s); an event's lag is its arrival minus the moment its"
        " transaction committed. An idle worker looks for due rows every 0.2 s and claims 20"
        " at a time. Percentiles are nearest-rank.",
        "",
        "| workers | events | recorded at | a transaction of 100 | lag p50 | p90 | p99 | max"
        " | not arrived | target |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for workers, run in lags.items():
        if run["recorded_rate"] < 0.9 * args.rate:
            short.append(workers)
        p50 = rank(run["lags"], 50)
        target = f"p50 ≤ 1 s: {'met' if p50 <= 1 else 'NOT met'}" if workers == 4 else ""
        lines.append(
            f"| {workers} | {run['events']} | {run['recorded_rate']:.0f}/s"
            f" | {run['transaction_ms']:.0f} ms | {ms(p50)}"
            f" | {ms(rank(run['lags'], 90))} | {ms(rank(run['lags'], 99))}"
            f" | {ms(max(run['lags']))} | {run['missing']} | {target} |"
        )
    if short:
        lines += [
            "",
            f"With {' and '.join(map(str, short))} worker(s) the benchmark's process did not"
            f" record the events at {args.rate:g}/s: `emit` costs a few ms of CPU an event (in"
            " the transaction column), and the workers and PostgreSQL share the machine's"
            f" {os.cpu_count()} cores with it; the lag is of the rate it reached.",
        ]
    lines += [
        "",
        "During those phases: CPU cores busy (CPU seconds a second of the phase, the workers'"
        " start and idling included) of the workers and of PostgreSQL, and from"
        " pg_stat_activity sampled every 10 ms, how many backends waited on a lock on average"
        " (by the statement waiting):",
        "",
        "| workers | CPU: workers | CPU: PostgreSQL | backends waiting on a lock |",
        "|---|---|---|---|",
        *[
            f"| {workers} | {run['cpu_workers']:.2f} | {run['cpu_postgres']:.2f} | {run['locks']} |"
            for workers, run in lags.items()
        ],
        "",
        f"## Throughput: {args.events:,} pending deliveries",
        "",
        f"The events are recorded first with no worker running ({FILL_BATCH} a transaction;"
        " the rate they were recorded at is in the table), then 1, or 4, `manage.py worker"
        " --until-idle` processes drain them. deliveries/s runs from the workers' start (about"
        ' a second of Django\'s start included) to the last arrival; "sending" from the first'
        " arrival to the last. CPU milliseconds a delivery: of the worker processes (their"
        " start included), of PostgreSQL (every backend) and of the receiver (the benchmark's"
        " process, idle otherwise).",
        "",
        "| workers | deliveries/s | target | sending | first arrival | CPU: workers"
        " | CPU: PostgreSQL | CPU: receiver | events recorded at |",
        "|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {count} | {run['rate']:.0f} | {'≥ 300: ' if count == 4 else ''}"
            f"{('met' if run['rate'] >= 300 else 'NOT met') if count == 4 else ''}"
            f" | {run['rate_sending']:.0f}/s | {run['first']:.1f} s | {run['workers']:.2f}"
            f" | {run['postgres']:.2f} | {run['receiver']:.2f} | {run['record_rate']:.0f}/s |"
            for count, run in rates.items()
        ],
        "",
        f"## Where a delivery's time goes (one worker in the benchmark's process, {PROFILED})",
        "",
        "`Worker(batch=20).run(until_idle=True)`, every SQL statement timed with its round"
        " trip; the HTTP POST (`apps.webhooks.handlers.post`: the address check, a new"
        " connection, the request and the answer) includes the address check. The receiver"
        " runs in the same process here.",
        "",
        "| phase | ms a delivery |",
        "|---|---|",
        *[f"| {phase} | {value:.2f} |" for phase, value in phases.items()],
        "",
        "## The write path: `POST /api/v2/organizations/<org>/contacts`",
        "",
        f"In the benchmark's process (django.test.Client, CaptureQueriesContext), {WRITE_REQUESTS}"
        ' requests after one warm-up, with 0, 1 (`["contact.created"]`) and 2 (that one and'
        ' `["*"]`) enabled endpoints; SQL statements a request by kind, and the median'
        " milliseconds a request. Target: at most one INSERT more an endpoint.",
        "",
        "| endpoints | " + " | ".join(kinds) + " | all | ms a request |",
        "|---|" + "---|" * (len(kinds) + 2),
        *[
            f"| {count} | "
            + " | ".join(f"{result['kinds'].get(kind, 0):g}" for kind in kinds)
            + f" | {sum(result['kinds'].values()):g} | {result['ms']:.1f} |"
            for count, result in writes.items()
        ],
        "",
        f"INSERTs with 2 endpoints minus with 0: {extra_inserts:g} (target ≤ 2:"
        f" {'met' if extra_inserts <= 2 else 'NOT met'})."
        " The statements of one request with 2 endpoints:",
        "",
        *[f"1. `{' '.join(statement.split())[:160]}`" for statement in statements],
        "",
        "## Checks",
        "",
        f"- Signatures: {verified} of {len(receiver.samples)} sampled requests (1 in"
        f" {SAMPLE_EVERY}) carry a `webhook-signature` that `apps.webhooks.signing.signature`"
        " computes with the endpoint's secret.",
        f"- Deliveries not `succeeded` at the end: {sum(not_succeeded.values())}"
        f"{f' {not_succeeded}' if not_succeeded else ''} of {total}; deliveries that took"
        f" more than one attempt: {retried}.",
        f"- Requests received: {receiver.requests}, on {receiver.connections} connections;"
        " repeated `webhook-id`s:"
        f" {receiver.duplicates}; malformed: {receiver.malformed}.",
        "",
        f"Took {time.monotonic() - started:.0f} s in all.",
        "",
    ]
    harness.write_report("webhooks.md", lines)


if __name__ == "__main__":
    main()
