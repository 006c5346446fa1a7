"""Delivery of drafts on PostgreSQL, end to end:

    .venv/bin/python -m bench.delivery [--drafts 10000] [--latency-drafts 200]

1. (Re)creates the PostgreSQL database of DATABASE_URL (default
   postgres://postgres@127.0.0.1:5432/hyperrep_bench_delivery; its name must contain
   "bench", as it is dropped), migrates it and seeds the demo organization; its email channel
   sends to an SMTP server in this process (aiosmtpd on loopback) that notes when each email
   arrives, by its Message-ID.
2. Latency: gunicorn and one `manage.py worker` process; `--latency-drafts` times
   `POST …/response-drafts` with `autosend_draft`, one after another, each measured from the
   start of the POST to the SMTP server receiving the email (targets: p50 <= 1 s, p99 <= 2 s).
   Then every conversation is given its reply token, as after its first email, so that the
   runs below all do the same work (the steady state).
3. Where a draft's time goes: one worker in this process delivers 500 due drafts, with every
   SQL statement timed (round trip included) and the SMTP conversation timed.
4. Throughput: `--drafts` due drafts, delivered by 1, then by 4 `manage.py worker
   --until-idle` processes (target: at least 200 drafts/s with 4), with the CPU time a draft
   of the workers, of PostgreSQL (read from /proc: the database must be on this machine)
   and of the SMTP server.

Results go to bench/results/delivery.md. SECRET_KEY is random unless set.
"""

import argparse
import http.client
import json
import logging
import os
import resource
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench import harness

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/hyperrep_bench_delivery"
PROFILED = 500


class Sink:
    """An SMTP server that keeps, for each Message-ID, when the email arrived."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.arrived: dict[str, float] = {}
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                when = time.perf_counter()
                content: bytes = envelope.content
                start = content.find(b"Message-ID: <") + len(b"Message-ID: <")
                message_id = content[start : content.find(b">", start)].decode()
                with sink.lock:
                    sink.arrived[message_id] = when
                return "250 OK"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "Sink":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.arrived) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(self.arrived)} of {count} emails arrived")
            time.sleep(0.005)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def worker_processes(count: int, *, until_idle: bool) -> Iterator[list[subprocess.Popen]]:
    command = [sys.executable, "manage.py", "worker"] + (["--until-idle"] if until_idle else [])
    env = {**os.environ, "LOG_LEVEL": "WARNING"}
    processes = [
        subprocess.Popen(command, cwd=harness.ROOT, env=env)  # noqa: S603
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            process.wait(timeout=30)


def due_drafts(organization: Any, count: int) -> list[str]:
    """`count` response drafts due now, on the organization's conversations whose contact has
    an address; their messages' public ids (the Message-IDs' left parts)."""
    from django.db import connection
    from django.utils import timezone

    from apps.conversations.models import Conversation
    from apps.drafts.models import DraftStatus, ResponseDraft

    conversations = list(
        Conversation.objects.for_org(organization)
        .exclude(contact__email=None)
        .values_list("pk", flat=True)
    )
    now = timezone.now()
    drafts = [
        ResponseDraft(
            organization=organization,
            conversation_id=conversations[number % len(conversations)],
            modality="email",
            body_html=f'<p>Hello,</p><p>Your quote: <a href="https://acme.example/q/{number}">here</a></p>',
            status=DraftStatus.SCHEDULED,
            scheduled_to_send=True,
            scheduled_send_at=now,
            next_attempt_at=now,
        )
        for number in range(count)
    ]
    ResponseDraft.objects.bulk_create(drafts, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE drafts_responsedraft")
    return [draft.message_public_id for draft in drafts]


def prime_reply_tokens(organization: Any) -> None:
    """Every conversation has had an email out before, as in a server that has run a while:
    its reply token exists. (The first email of a conversation makes it, with one more
    UPDATE; without this, the first run would make them all, and the next none.)"""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE conversations_conversation SET reply_token = substr(md5(random()::text"
            " || id::text), 1, 20) WHERE organization_id = %s AND reply_token IS NULL",
            [organization.pk],
        )


def latency(organization: Any, api_key: str, sink: Sink, drafts: int) -> list[float]:
    from apps.conversations.models import Conversation

    conversations = list(  # whose replies go out by email: no texts in them
        Conversation.objects.for_org(organization)
        .exclude(contact__email=None)
        .exclude(messages__modality="text")
        .values_list("public_id", flat=True)[:drafts]
    )
    if len(conversations) < drafts:
        raise SystemExit(f"only {len(conversations)} conversations reply by email")
    seconds: list[float] = []
    with harness.gunicorn() as port, worker_processes(1, until_idle=False):
        time.sleep(2)  # the worker is up and idling
        for number, conversation in enumerate(conversations):
            before = len(sink.arrived)
            started = time.perf_counter()
            path = (
                f"/api/v2/organizations/{organization.public_id}/conversations/"
                f"{conversation}/response-drafts"
            )
            body = json.dumps({"body_html": f"<p>Reply {number}</p>", "autosend_draft": True})
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request(
                "POST", path, body, {"X-API-KEY": api_key, "Content-Type": "application/json"}
            )
            response = connection.getresponse()
            response.read()
            connection.close()
            assert response.status == 200, response.status
            sink.wait_for(before + 1, timeout=30)
            arrived = max(sink.arrived.values())
            seconds.append(arrived - started)
    return seconds


def profile(organization: Any, sink: Sink) -> dict[str, float]:
    """One worker in this process over PROFILED due drafts: milliseconds per draft in SQL
    (by statement kind), in the SMTP conversation, and in all."""
    from apps.delivery.transports.smtp import SMTPTransport
    from hyperrep.outbox.worker import Worker

    due_drafts(organization, PROFILED)
    smtp_seconds = 0.0
    original = SMTPTransport.send_email

    def send_email(self: Any, message: Any) -> Any:
        nonlocal smtp_seconds
        began = time.perf_counter()
        try:
            return original(self, message)
        finally:
            smtp_seconds += time.perf_counter() - began

    SMTPTransport.send_email = send_email  # type: ignore[method-assign]
    try:
        with harness.SQLTimes() as sql:
            began = time.perf_counter()
            Worker(batch=20).run(until_idle=True)
            total = time.perf_counter() - began
    finally:
        SMTPTransport.send_email = original  # type: ignore[method-assign]
    per = 1000 / PROFILED
    result = sql.per(PROFILED, "a draft")
    result["SMTP conversation"] = smtp_seconds * per
    result["all"] = total * per
    return result


def postgres_cpu_seconds() -> float | None:
    """CPU seconds used by PostgreSQL's processes on this machine, ended backends included
    (they count in the postmaster's children); None when /proc does not show them."""
    total = 0
    found = False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        if name in ("postgres", "postmaster"):
            fields = text[text.rindex(")") + 2 :].split()
            total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def throughput(organization: Any, sink: Sink, drafts: int, workers: int) -> dict[str, float]:
    """Drafts a second through `workers` worker processes, and the CPU milliseconds a draft
    of the workers (their start included), PostgreSQL and the SMTP server (this process)."""
    due_drafts(organization, drafts)
    before = len(sink.arrived)
    cpu = (children_cpu_seconds(), postgres_cpu_seconds(), time.process_time())
    began = time.perf_counter()
    with worker_processes(workers, until_idle=True) as processes:
        for process in processes:
            process.wait(timeout=3600)
    seconds = time.perf_counter() - began
    delivered = len(sink.arrived) - before
    if delivered != drafts:
        raise SystemExit(f"{delivered} of {drafts} drafts delivered")
    postgres_before, postgres_after = cpu[1], postgres_cpu_seconds()
    per = 1000 / drafts
    return {
        "rate": drafts / seconds,
        "workers": (children_cpu_seconds() - cpu[0]) * per,
        "postgres": (
            (postgres_after - postgres_before) * per
            if postgres_before is not None and postgres_after is not None
            else float("nan")
        ),
        "smtp": (time.process_time() - cpu[2]) * per,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Draft delivery (PostgreSQL).")
    parser.add_argument("--drafts", type=int, default=10_000, help="due drafts per throughput run")
    parser.add_argument("--latency-drafts", type=int, default=200)
    args = parser.parse_args()
    started = time.monotonic()
    harness.fresh_django(DEFAULT_DATABASE_URL)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's line per command
    logging.getLogger("hyperrep.outbox").setLevel(logging.WARNING)  # the worker's per draft
    from apps.organizations.models import ChannelKind
    from apps.organizations.services import channel_configure

    organization, api_key, _seconds = harness.seed_demo(messages=20_000)
    with Sink() as sink:
        channel_configure(
            organization=organization,
            kind=ChannelKind.EMAIL,
            transport=f"smtp://127.0.0.1:{sink.port}?security=none",
        )
        harness.say(f"latency over {args.latency_drafts} drafts")
        seconds = latency(organization, api_key, sink, args.latency_drafts)
        prime_reply_tokens(organization)
        harness.say("where a draft's time goes")
        phases = profile(organization, sink)
        rates = {}
        for workers in (1, 4):
            harness.say(f"{args.drafts} drafts with {workers} worker(s)")
            rates[workers] = throughput(organization, sink, args.drafts, workers)
    cuts = statistics.quantiles(seconds, n=100)
    lines = [
        "# Draft delivery benchmark: results",
        "",
        harness.machine(),
        "",
        "Command: `.venv/bin/python -m bench.delivery"
        f" --drafts {args.drafts} --latency-drafts {args.latency_drafts}`"
        " (DATABASE_URL postgres://…/hyperrep_bench_delivery). The email channel sends over"
        " SMTP (no TLS) to an aiosmtpd server in the benchmark's process on loopback.",
        "",
        "## Latency: from `POST …/response-drafts` (autosend) to the SMTP server",
        "",
        f"gunicorn and one `manage.py worker`, {len(seconds)} drafts one after another.",
        "",
        "| p50 | p90 | p99 | max | target |",
        "|---|---|---|---|---|",
        f"| {statistics.median(seconds) * 1000:.0f} ms | {cuts[89] * 1000:.0f} ms "
        f"| {cuts[98] * 1000:.0f} ms | {max(seconds) * 1000:.0f} ms | p50 ≤ 1 s, p99 ≤ 2 s |",
        "",
        "An idle worker looks for due rows every 0.2 s, and each POST here starts just after"
        " the previous email arrived: most of the latency is that wait.",
        "",
        f"## Where a draft's time goes (one worker in the benchmark's process, {PROFILED} drafts)",
        "",
        "| phase | ms a draft |",
        "|---|---|",
        *[f"| {phase} | {ms:.2f} |" for phase, ms in phases.items()],
        "",
        f"## Throughput: {args.drafts:,} due drafts",
        "",
        "CPU milliseconds a draft: of the worker processes (from their start), of PostgreSQL"
        " (every backend), and of the SMTP server (the benchmark's process).",
        "",
        "| workers | drafts/s | target | CPU: workers | CPU: PostgreSQL | CPU: SMTP server |",
        "|---|---|---|---|---|---|",
        *[
            f"| {count} | {run['rate']:.0f} | {'≥ 200' if count == 4 else ''} "
            f"| {run['workers']:.2f} | {run['postgres']:.2f} | {run['smtp']:.2f} |"
            for count, run in rates.items()
        ],
        "",
        f"Took {time.monotonic() - started:.0f} s in all.",
    ]
    harness.write_report("delivery.md", lines)


if __name__ == "__main__":
    main()
