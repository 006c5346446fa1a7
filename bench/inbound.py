"""Inbound texts and emails on PostgreSQL, end to end:

    .venv/bin/python -m bench.inbound [--seconds 10] [--lag-requests 200] [--rate 20]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_inbound; its name must contain "bench",
   as it is dropped), migrates it and seeds the demo organization (20,000 messages), whose
   text channel (console transport with Twilio credentials: its auth token signs the
   texts) and email channel it configures. The server runs with INBOUND_RATE_LIMIT=0 (the
   default 600/minute per token would throttle the load) and PUBLIC_URL=http://127.0.0.1,
   so that the URL a text's X-Twilio-Signature covers does not depend on gunicorn's port.
2. Lag: gunicorn and one `manage.py worker`; `--lag-requests` texts, then as many emails,
   posted one after another at `--rate` a second; a thread of this process polls the
   database (every 5 ms) for each event's message, and the lag is from the 2xx answer to the
   first poll that finds it (target: every event a message within 1 s). Events whose
   processing failed and wait for a retry are counted.
3. Load: gunicorn alone (no worker), 8 closed-loop clients on `POST /inbound/text/<token>`,
   then on `POST /inbound/email/<token>`, for 1 s unrecorded and `--seconds` recorded
   (target: p50 <= 20 ms). Every request is built beforehand (body, signature), each with
   its own MessageSid or Message-ID; the texts come from 300 numbers, the emails are half
   replies to the seeded emails (In-Reply-To) and half new, from 300 addresses.
4. After each route's load: where an event's time goes (PROFILED events processed in this
   process, every SQL statement timed, round trip included), then one `manage.py worker
   --until-idle` drains the rest, timed, with the CPU time an event of the worker and of
   PostgreSQL (read from /proc: the database must be on this machine).
5. Then the same load again with one worker running, as in production: the answers'
   latency, how many events the worker was behind when the load ended and how long it then
   took to catch up (at most BACKLOG_TIMEOUT), the events that needed a retry, and how many
   backends waited on a lock (pg_stat_activity, sampled every 10 ms).

Results go to bench/results/inbound.md. SECRET_KEY is random unless set. The machine's cores
are shared by the clients, gunicorn, the worker and PostgreSQL.
"""

import argparse
import logging
import os
import random
import secrets
import threading
import time
from collections import defaultdict
from datetime import datetime
from email.utils import formatdate
from typing import Any
from urllib.parse import urlencode

import psycopg
from django.utils import timezone

from bench import harness, load
from bench.delivery import children_cpu_seconds, postgres_cpu_seconds, worker_processes
from bench.load import rank

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_inbound"
PUBLIC_URL = "http://127.0.0.1"
CLIENTS = 8
PROFILED = 300
POLL_SECONDS = 0.005
BACKLOG_TIMEOUT = 300  # seconds the worker gets to catch up after the load with a worker
SENDERS = 300  # distinct From numbers, and distinct new email addresses
MAX_REQUESTS = 12_000  # requests built per route for the load (it stops early if they run out)
TEXT_SENDER = "+15135550100"
ACCOUNT_SID = "AC" + "0" * 32
PHRASES = (
    "the roof is leaking again",
    "can you send the quote",
    "is tomorrow morning fine for the crew",
    "the gutters came loose in the storm",
    "I sent photos of the damage",
    "the insurance claim number is on the invoice",
    "please call me back",
    "thanks for coming out so quickly",
)


# -- the requests -------------------------------------------------------------------------------


def sentence(rng: random.Random, phrases: int) -> str:
    return ", ".join(rng.choice(PHRASES) for _ in range(phrases)).capitalize() + "."


def http_request(port: int, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = "".join(
        [
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n",
            *(f"{name}: {value}\r\n" for name, value in headers.items()),
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n",
        ]
    )
    return head.encode() + body


def texts(
    port: int, token: str, auth_token: str, count: int, rng: random.Random
) -> list[tuple[str, bytes]]:
    """`count` signed Twilio incoming-message webhooks: (MessageSid, request bytes)."""
    from apps.inbound.text import signature

    path = f"/inbound/text/{token}"
    out = []
    for _ in range(count):
        sid = "SM" + secrets.token_hex(16)
        sender = f"+1513555{1000 + rng.randrange(SENDERS):04d}"
        fields = [
            ("ToCountry", "US"),
            ("ToState", "OH"),
            ("SmsMessageSid", sid),
            ("NumMedia", "0"),
            ("ToCity", "CINCINNATI"),
            ("FromZip", "45202"),
            ("SmsSid", sid),
            ("FromState", "OH"),
            ("SmsStatus", "received"),
            ("FromCity", "CINCINNATI"),
            ("Body", sentence(rng, rng.randint(1, 4))),
            ("FromCountry", "US"),
            ("To", TEXT_SENDER),
            ("ToZip", "45202"),
            ("NumSegments", "1"),
            ("MessageSid", sid),
            ("AccountSid", ACCOUNT_SID),
            ("From", sender),
            ("ApiVersion", "2010-04-01"),
        ]
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": signature(auth_token, PUBLIC_URL + path, fields),
        }
        out.append((sid, http_request(port, path, urlencode(fields).encode(), headers)))
    return out


def email_threads(organization: Any) -> list[tuple[str, str]]:
    """(Message-ID, sender address) of seeded emails with a contact address: what replies
    answer."""
    from apps.conversations.models import Message

    return list(
        Message.objects.for_org(organization)
        .exclude(email_message_id=None)
        .exclude(conversation__contact__email=None)
        .values_list("email_message_id", "conversation__contact__email")[:1000]
    )


def emails(
    port: int, token: str, threads: list[tuple[str, str]], count: int, rng: random.Random
) -> list[tuple[str, bytes]]:
    """`count` raw emails (multipart/alternative), half replies to `threads`, half new:
    (Message-ID, request bytes)."""
    path = f"/inbound/email/{token}"
    headers = {"Content-Type": "message/rfc822", "User-Agent": "bench-mta/1.0"}
    out = []
    for number in range(count):
        message_id = f"<bench.{number}.{secrets.token_hex(8)}@mail.bench.example>"
        lines = [sentence(rng, rng.randint(2, 5)) for _ in range(rng.randint(2, 8))]
        if rng.random() < 0.5:
            answers, sender = rng.choice(threads)
            threading_headers = f"In-Reply-To: {answers}\r\nReferences: {answers}\r\n"
            subject = "Re: Your quote"
        else:
            sender = f"customer{rng.randrange(SENDERS)}@mail.bench.example"
            threading_headers = ""
            subject = sentence(rng, 1)[:-1]
        text = "\r\n\r\n".join(lines)
        html = "".join(f"<p>{line}</p>" for line in lines)
        raw = (
            f"From: Customer <{sender}>\r\n"
            "To: Acme Roofing <support@acme.example>\r\n"
            f"Subject: {subject}\r\n"
            f"Date: {formatdate()}\r\n"
            f"Message-ID: {message_id}\r\n"
            f"{threading_headers}"
            "MIME-Version: 1.0\r\n"
            'Content-Type: multipart/alternative; boundary="bench-boundary"\r\n'
            "\r\n"
            "--bench-boundary\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            f"{text}\r\n"
            "--bench-boundary\r\n"
            "Content-Type: text/html; charset=utf-8\r\n"
            "\r\n"
            f"<html><body>{html}</body></html>\r\n"
            "--bench-boundary--\r\n"
        ).encode()
        out.append((message_id, http_request(port, path, raw, headers)))
    return out


# -- sending ------------------------------------------------------------------------------------


def ok(answer: bytes) -> bool:
    return answer.startswith(b"HTTP/1.1 2")


def post_load(port: int, requests: list[bytes], *, clients: int, seconds: float) -> load.LoadResult:
    """bench/load.py's closed loop over these requests, each sent once."""
    return load.closed_loop(
        port,
        lambda number: requests[number] if number < len(requests) else None,
        clients=clients,
        seconds=seconds,
    )


def lag(
    port: int, requests: list[tuple[str, bytes]], channel_id: int, rate: float
) -> tuple[list[float], list[float]]:
    """Post `requests` one after another, one every 1/rate s, while a thread polls for each
    one's message: the answers' milliseconds, and the seconds from each 2xx answer to the
    first poll that found its message (the poll's start: the row was committed before)."""
    from apps.conversations.models import Message
    from apps.inbound.models import InboundEvent

    query = (
        f"SELECT e.provider_message_id FROM {InboundEvent._meta.db_table} e"
        f" JOIN {Message._meta.db_table} m ON m.id = e.message_id"
        " WHERE e.channel_id = %s AND e.provider_message_id = ANY(%s)"
    )
    answered: dict[str, float] = {}
    seen: dict[str, float] = {}
    lock = threading.Lock()
    posted = threading.Event()
    failures: list[str] = []

    def poll() -> None:
        try:
            with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
                deadline = None
                while True:
                    with lock:
                        pending = [key for key in answered if key not in seen]
                    if posted.is_set():
                        if not pending:
                            return
                        deadline = deadline or time.monotonic() + 30
                        if time.monotonic() > deadline:
                            return
                    if pending:
                        began = time.perf_counter()
                        rows = connection.execute(query, [channel_id, pending]).fetchall()
                        with lock:
                            for (key,) in rows:
                                seen[key] = began
                    time.sleep(POLL_SECONDS)
        except Exception as error:  # reported by the caller: the lags are then incomplete
            failures.append(repr(error))

    poller = threading.Thread(target=poll)
    poller.start()
    answers_ms = []
    began = time.perf_counter()
    try:
        for number, (key, request) in enumerate(requests):
            pause = began + number / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent = time.perf_counter()
            answer = load.exchange(port, request)
            done = time.perf_counter()
            if not ok(answer):
                raise SystemExit(f"non-2xx answer: {answer[:300]!r}")
            answers_ms.append((done - sent) * 1000)
            with lock:
                answered[key] = done
    finally:
        posted.set()
        poller.join(timeout=60)
    if failures:
        raise SystemExit(f"polling for the messages failed: {failures[0]}")
    # An event that is not a message 30 s after the last post counts as infinitely late.
    return answers_ms, [seen.get(key, float("inf")) - answered[key] for key, _ in requests]


def retried(channel: Any, since: datetime) -> tuple[int, list[str]]:
    """How many of the channel's events received since `since` needed more than one
    attempt, or are waiting for a retry, and their errors (the last one recorded, of those
    still waiting)."""
    from django.db.models import Q

    from apps.inbound.models import EventStatus, InboundEvent

    events = InboundEvent.objects.unscoped().filter(
        Q(attempts__gt=1) | Q(status=EventStatus.RECEIVED, last_error__isnull=False),
        channel=channel,
        received_at__gte=since,
    )
    errors = sorted({error for error in events.values_list("last_error", flat=True) if error})
    return events.count(), errors


class LockWaits:
    """While in use, samples pg_stat_activity every 10 ms: how many of the database's
    backends wait on a lock, by the first word of the statement that waits."""

    def __init__(self) -> None:
        self.samples = 0
        self.waiting: dict[str, int] = defaultdict(int)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.sample)

    def sample(self) -> None:
        query = (
            "SELECT split_part(ltrim(query), ' ', 1) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            " AND pid <> pg_backend_pid()"
        )
        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
            while not self.stopping.is_set():
                for (statement,) in connection.execute(query).fetchall():
                    self.waiting[statement.upper()] += 1
                self.samples += 1
                time.sleep(0.01)

    def __enter__(self) -> "LockWaits":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=10)

    def summary(self) -> str:
        if not self.samples:
            return "not sampled"
        total = sum(self.waiting.values()) / self.samples
        parts = ", ".join(
            f"{count / self.samples:.2f} at {statement}"
            for statement, count in sorted(self.waiting.items(), key=lambda item: -item[1])
        )
        return f"{total:.2f}" + (f" ({parts})" if parts else "")


# -- processing ---------------------------------------------------------------------------------


def received(channel: Any, since: datetime) -> list[int]:
    """The channel's events received since `since` that are still to be processed."""
    from apps.inbound.models import EventStatus, InboundEvent

    return list(
        InboundEvent.objects.unscoped()
        .filter(channel=channel, status=EventStatus.RECEIVED, received_at__gte=since)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
    )


def due(channel: Any, since: datetime) -> list[int]:
    """The channel's events received since `since` still to be processed and due now (not
    waiting for a retry)."""
    from django.db.models import Q

    from apps.inbound.models import EventStatus, InboundEvent

    return list(
        InboundEvent.objects.unscoped()
        .filter(channel=channel, status=EventStatus.RECEIVED, received_at__gte=since)
        .filter(Q(next_attempt_at__lte=timezone.now()) | Q(claimed_until__isnull=False))
        .values_list("pk", flat=True)
    )


def profile(keys: list[int]) -> dict[str, float]:
    """`services.event_process` over these events in this process: milliseconds an event in
    SQL (by statement kind, round trip included), and in all."""
    from apps.inbound import services

    with harness.SQLTimes() as sql:
        began = time.perf_counter()
        for key in keys:
            services.event_process(key)
        total = time.perf_counter() - began
    per = 1000 / len(keys)
    result = sql.per(len(keys), "an event")
    result["SQL, all"] = sum(sql.seconds.values()) * per
    result["all"] = total * per
    return result


def drain(channel: Any, since: datetime) -> dict[str, float]:
    """One `manage.py worker --until-idle` over the channel's events received since `since`
    and still to be processed: how many, the seconds (the worker's start included), and CPU
    milliseconds an event of the worker and of PostgreSQL."""
    from apps.inbound.models import EventStatus, InboundEvent

    count = len(received(channel, since))
    cpu = (children_cpu_seconds(), postgres_cpu_seconds())
    began = time.perf_counter()
    with worker_processes(1, until_idle=True) as processes:
        processes[0].wait(timeout=600)
    seconds = time.perf_counter() - began
    events = InboundEvent.objects.unscoped().filter(channel=channel, received_at__gte=since)
    left = events.filter(status=EventStatus.RECEIVED).count()
    failed = events.exclude(status__in=[EventStatus.RECEIVED, EventStatus.PROCESSED]).count()
    if left or failed:
        raise SystemExit(f"after the drain: {left} events still received, {failed} not processed")
    postgres = postgres_cpu_seconds()
    per = 1000 / count
    return {
        "events": count,
        "seconds": seconds,
        "rate": count / seconds,
        "worker": (children_cpu_seconds() - cpu[0]) * per,
        "postgres": (
            (postgres - cpu[1]) * per
            if postgres is not None and cpu[1] is not None
            else float("nan")
        ),
    }


# -- the run ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description="Inbound texts and emails (PostgreSQL).")
    parser.add_argument("--seconds", type=float, default=10.0, help="recorded load per route")
    parser.add_argument("--lag-requests", type=int, default=200, help="per route")
    parser.add_argument("--rate", type=float, default=20.0, help="requests/s of the lag phase")
    args = parser.parse_args()
    started = time.monotonic()
    # This process and gunicorn's read them at start.
    os.environ["INBOUND_RATE_LIMIT"] = "0"
    os.environ["PUBLIC_URL"] = PUBLIC_URL
    harness.fresh_django(DEFAULT_DATABASE_URL)
    logging.getLogger("hyperrep.inbound").setLevel(logging.WARNING)
    header = harness.machine()  # the load average before this run's own load
    from apps.organizations.models import ChannelKind
    from apps.organizations.services import channel_configure

    organization, _api_key, _seconds = harness.seed_demo(messages=20_000)
    auth_token = secrets.token_hex(16)
    channels = {
        "text": channel_configure(
            organization=organization,
            kind=ChannelKind.TEXT,
            sender=TEXT_SENDER,
            transport=f"console://{ACCOUNT_SID}:{auth_token}@",
        ),
        "email": channel_configure(
            organization=organization, kind=ChannelKind.EMAIL, transport="console://"
        ),
    }
    threads = email_threads(organization)
    rng = random.Random(7)

    def build(route: str, port: int, count: int) -> list[tuple[str, bytes]]:
        token = channels[route].inbound_token
        if route == "text":
            return texts(port, token, auth_token, count, rng)
        return emails(port, token, threads, count, rng)

    routes = ("text", "email")
    lags: dict[str, tuple[list[float], list[float]]] = {}
    lag_retries: dict[str, tuple[int, list[str]]] = {}
    with harness.gunicorn() as port, worker_processes(1, until_idle=False):
        time.sleep(2)  # the worker is up and idling
        for route in routes:
            keyed = build(route, port, args.lag_requests)
            harness.say(f"lag: {len(keyed)} {route}s at {args.rate:g}/s")
            since = timezone.now()
            lags[route] = lag(port, keyed, channels[route].pk, args.rate)
            lag_retries[route] = retried(channels[route], since)
            harness.say(
                f"{route}: lag p50 {rank(lags[route][1], 50) * 1000:.0f} ms,"
                f" max {max(lags[route][1]) * 1000:.0f} ms,"
                f" {lag_retries[route][0]} event(s) retried {lag_retries[route][1]}"
            )

    loads: dict[str, load.LoadResult] = {}
    phases: dict[str, dict[str, float]] = {}
    drains: dict[str, dict[str, float]] = {}
    busy: dict[str, tuple[load.LoadResult, float, int, int, list[str], str]] = {}
    with harness.gunicorn() as port:
        for route in routes:
            warm = [request for _key, request in build(route, port, 400)]
            requests = [request for _key, request in build(route, port, MAX_REQUESTS)]
            since = timezone.now()
            post_load(port, warm, clients=CLIENTS, seconds=1)  # not recorded
            result = post_load(port, requests, clients=CLIENTS, seconds=args.seconds)
            harness.say(f"{route:5} {result.summary()}")
            if result.errors:
                raise SystemExit(f"{result.errors} failed requests on {route}")
            if result.requests == len(requests):
                harness.say(f"{route}: the {len(requests)} built requests ran out")
            loads[route] = result
            keys = received(channels[route], since)
            if len(keys) <= PROFILED:
                raise SystemExit(f"{route}: only {len(keys)} events stored by the load")
            harness.say(f"{route}: where an event's time goes ({PROFILED} events)")
            phases[route] = profile(keys[:PROFILED])
            harness.say(f"{route}: one worker drains {len(keys) - PROFILED} events")
            drains[route] = drain(channels[route], since)
            harness.say(f"{route}: {drains[route]['rate']:.0f} events/s")

            requests = [request for _key, request in build(route, port, MAX_REQUESTS)]
            harness.say(f"{route}: {CLIENTS} clients with one worker running")
            since = timezone.now()
            with worker_processes(1, until_idle=False):
                time.sleep(2)  # the worker is up and idling
                with LockWaits() as waits:
                    result = post_load(port, requests, clients=CLIENTS, seconds=args.seconds)
                harness.say(f"{route:5} {result.summary()}; waiting on locks {waits.summary()}")
                ended = time.perf_counter()
                backlog = len(due(channels[route], since))
                deadline = time.monotonic() + BACKLOG_TIMEOUT
                while due(channels[route], since) and time.monotonic() < deadline:
                    time.sleep(0.1)
                caught_up = time.perf_counter() - ended
            count, errors = retried(channels[route], since)
            busy[route] = (result, caught_up, backlog, count, errors, waits.summary())
            harness.say(
                f"{route}: {backlog} events behind at the load's end, caught up in"
                f" {caught_up:.1f} s; {count} event(s) retried {errors}"
            )

    def ms(seconds: float) -> str:
        return f"{seconds * 1000:.0f} ms" if seconds != float("inf") else "> 30 s"

    def load_row(route: str, worker: str, result: load.LoadResult) -> str:
        p50 = result.percentile(50)
        return (
            f"| `POST /inbound/{route}/<token>` | {worker} | {result.clients} | {result.rps:.0f}"
            f" | {p50:.1f} ms | {result.percentile(90):.1f} ms | {result.percentile(99):.1f} ms"
            f" | {result.requests} | {result.errors} | p50 ≤ 20 ms:"
            f" {'met' if p50 <= 20 else 'NOT met'}"
            f" | {result.client_cpu_seconds / result.requests * 1000:.2f} ms |"
        )

    def retries(count: int, errors: list[str]) -> str:
        if not count:
            return "none"
        return f"{count} ({'; '.join(errors) or 'succeeded on a later attempt'})"

    lines = [
        "# Inbound benchmark: results",
        "",
        header,
        "",
        f"Command: `.venv/bin/python -m bench.inbound --seconds {args.seconds:g}"
        f" --lag-requests {args.lag_requests} --rate {args.rate:g}`"
        " (DATABASE_URL postgres://…/hyperrep_bench_inbound), on the demo organization seeded"
        " with 20,000 messages. The server runs with **INBOUND_RATE_LIMIT=0** (no per-token"
        " budget: the default 600/minute would answer most of the load 429) and"
        f" PUBLIC_URL={PUBLIC_URL} (what the texts' signatures cover). gunicorn with"
        f" deploy/gunicorn.conf.py, {harness.workers()} sync workers, on 127.0.0.1; the"
        " text channel has the console transport with Twilio credentials, the email channel"
        " the console transport.",
        "",
        f"The machine has {os.cpu_count()} cores: the clients, gunicorn, the worker and"
        " PostgreSQL share them, so each figure is of the whole machine under that load.",
        "",
        f"## Load: {CLIENTS} closed-loop clients",
        "",
        f"Per route: with no worker running, 1 s of warm-up (not recorded) and {args.seconds:g}"
        " s; later (after the drain below) another"
        f" {args.seconds:g} s with one `manage.py worker` running, as in production. Every"
        " request is built before the timing: texts are signed Twilio webhooks (19 form"
        f" fields, a distinct MessageSid each, from {SENDERS} numbers); emails are raw"
        " multipart/alternative messages of 1 to 3 KiB with a distinct Message-ID, half of"
        f" them replies (In-Reply-To a seeded email), half new, from {SENDERS} addresses. A"
        " request is a new connection with `Connection: close`, as bench/load.py sends;"
        " latency is to the end of the 2xx answer.",
        "",
        "| route | worker | clients | req/s | p50 | p90 | p99 | requests | errors | target"
        " | client CPU/req |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for route in routes:
        lines.append(load_row(route, "none", loads[route]))
        lines.append(load_row(route, "one running", busy[route][0]))
    lines += [
        "",
        "With the worker running: events not yet messages when the load ended, how long the"
        " worker then took to make them all messages, and events whose processing failed at"
        " least once (they wait for the delivery backoff, minutes, before the next attempt);"
        " and, from pg_stat_activity sampled every 10 ms during the load, how many backends"
        " were waiting on a lock on average, by the statement waiting:",
        "",
        "| route | behind at the end | caught up in | events retried | backends waiting on a"
        " lock |",
        "|---|---|---|---|---|",
        *[
            f"| {route} | {busy[route][2]} | {busy[route][1]:.1f} s"
            f" | {retries(busy[route][3], busy[route][4])} | {busy[route][5]} |"
            for route in routes
        ],
        "",
        "## Lag: from the 2xx answer to the message, one worker running",
        "",
        f"{args.lag_requests} requests per route, one after another at {args.rate:g}/s (one"
        " client), with gunicorn and one `manage.py worker`; a thread of the benchmark polls"
        f" the database every {POLL_SECONDS * 1000:g} ms for each event's message (the event"
        " joined to its message), and the lag ends at the start of the first poll that finds"
        " it (an event still no message 30 s after the last post counts as > 30 s). An idle"
        " worker looks for due rows every 0.2 s. Percentiles are nearest-rank.",
        "",
        "| route | answer p50 | answer p99 | lag p50 | lag p90 | lag p99 | lag max | within 1 s"
        " | target | events retried |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for route in routes:
        answers, seconds = lags[route]
        within = sum(s <= 1 for s in seconds) / len(seconds)
        lines.append(
            f"| {route} | {rank(answers, 50):.1f} ms | {rank(answers, 99):.1f} ms"
            f" | {ms(rank(seconds, 50))} | {ms(rank(seconds, 90))} | {ms(rank(seconds, 99))}"
            f" | {ms(max(seconds))} | {within:.1%} | every event within 1 s:"
            f" {'met' if within == 1 else 'NOT met'} | {retries(*lag_retries[route])} |"
        )
    lines += [
        "",
        "## Draining the load's events: one `manage.py worker --until-idle`",
        "",
        f"After each route's load without a worker, with gunicorn idle: the oldest {PROFILED}"
        " events are processed in the benchmark's process (below), then one worker drains the"
        " rest. Its time includes the worker's start (about a second). CPU milliseconds an"
        " event: of the worker process (its start included) and of PostgreSQL (every backend).",
        "",
        "| route | accepted at 8 clients | events drained | seconds | events/s"
        " | CPU: worker | CPU: PostgreSQL |",
        "|---|---|---|---|---|---|---|",
    ]
    for route in routes:
        run = drains[route]
        lines.append(
            f"| {route} | {loads[route].rps:.0f}/s | {run['events']:.0f} | {run['seconds']:.1f}"
            f" | {run['rate']:.0f} | {run['worker']:.2f} | {run['postgres']:.2f} |"
        )
    lines += [
        "",
        "While the server accepts more a second than one worker turns into messages, the"
        " backlog, and so the lag, grows for as long as that load lasts.",
        "",
        f"## Where an event's time goes ({PROFILED} events of each route, in the benchmark's"
        " process)",
        "",
        "`apps.inbound.services.event_process` per event (no claim or record of the outbox),"
        " every SQL statement timed with its round trip.",
        "",
        "| route | phase | ms an event |",
        "|---|---|---|",
        *[
            f"| {route} | {phase} | {value:.2f} |"
            for route in routes
            for phase, value in phases[route].items()
        ],
        "",
        f"Took {time.monotonic() - started:.0f} s in all.",
        "",
    ]
    harness.write_report("inbound.md", lines)


if __name__ == "__main__":
    main()
