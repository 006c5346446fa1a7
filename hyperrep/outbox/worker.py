"""The worker: claims a batch of due outbox rows, carries each out outside any transaction,
records the batch's outcomes in one transaction, and sleeps briefly when nothing is due (so a
row is picked up within a fraction of a second of falling due). Any number of workers may
run on PostgreSQL.

A batch starts no attempt after half its lease has passed: the rest are given back, before
another worker could take them over while this one still meant to try them. Outcomes are
recorded at least every RECORD_SECONDS, so a slow provider does not keep the ones already
done waiting.

Between batches it runs the housekeeping jobs the apps register (`every`: pruning old rows),
each at most once an interval in each worker process.

On SIGTERM or SIGINT it stops claiming, finishes the row in hand (every network call it makes
is bounded by a timeout), records what it did and gives back the rows it did not start."""

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType

from django.db import close_old_connections, connection
from django.utils import timezone

from hyperrep import logs, migration_state
from hyperrep.outbox import claims
from hyperrep.outbox.claims import Batch, Handler, Outcome, Permanent, Transient

log = logging.getLogger("hyperrep.outbox")
# A worker waiting for `migrate` looks this often, and says so in the log this often.
MIGRATION_POLL_SECONDS = 2.0
MIGRATION_WAIT_LOG_SECONDS = 60.0
RECORD_SECONDS = 1.0

# The handler of every kind of outbox row, in the order a worker serves them. The apps that
# own the rows register them when they load (their AppConfig.ready).
HANDLERS: list[Handler] = []


def register(handler: Handler) -> None:
    """Serve `handler.model`'s rows with `handler` (once, however often an app loads)."""
    if all(known.model is not handler.model for known in HANDLERS):
        HANDLERS.append(handler)


# Housekeeping, (interval in seconds, job): each worker runs a job when it starts and then
# once an interval. Jobs are safe to run in several workers at once (a bounded DELETE).
JOBS: list[tuple[float, Callable[[], None]]] = []


def every(seconds: float, job: Callable[[], None]) -> None:
    """Have workers run `job` once every `seconds` (once, however often an app loads)."""
    if all(known is not job for _, known in JOBS):
        JOBS.append((seconds, job))


class Worker:
    def __init__(
        self,
        handlers: Sequence[Handler] | None = None,
        *,
        batch: int = 20,
        idle_seconds: float = 0.2,
    ) -> None:
        self.handlers = list(HANDLERS if handlers is None else handlers)
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.name = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.stopping = threading.Event()
        self.jobs_due: dict[Callable[[], None], float] = {}

    def run(self, *, until_idle: bool = False) -> None:
        """Serve until stopped (or, with `until_idle`, until nothing is due)."""
        self._handle_signals()
        log.info("worker %s started", self.name)
        self.wait_until_migrated()
        while not self.stopping.is_set():
            if not connection.in_atomic_block:  # (a test runs it inside its transaction)
                close_old_connections()  # as a request's end does: no connection outlives its age
            self.housekeeping()
            if self.run_once() == 0:
                if until_idle:
                    break
                self.stopping.wait(self.idle_seconds)
        log.info("worker %s stopped", self.name)

    def wait_until_migrated(self) -> None:
        """A worker started before `migrate` ran (a new release rolled out beside its migrate
        Job) waits for it rather than running this release's code on the last one's tables,
        saying so once a minute; SIGTERM ends the wait."""
        said = 0.0
        while not self.stopping.is_set():
            unapplied = migration_state.unapplied_migrations(connection)
            if not unapplied:
                return
            if time.monotonic() - said >= MIGRATION_WAIT_LOG_SECONDS:
                said = time.monotonic()
                log.warning(
                    "worker %s waiting for migrate: migrations not applied: %s",
                    self.name,
                    migration_state.named(unapplied),
                )
            close_old_connections()
            self.stopping.wait(MIGRATION_POLL_SECONDS)

    def run_once(self) -> int:
        """Claim and carry out one batch of each kind of row; how many were attempted."""
        done = 0
        for handler in self.handlers:
            if self.stopping.is_set():
                break
            keys = claims.claim(
                handler.model, worker=self.name, now=timezone.now(), limit=self.batch
            )
            if keys:
                try:
                    done += self.carry_out(handler, keys)
                except Exception:
                    # Loading or recording failed (the database went away, a bug): the rows
                    # keep their claim until the lease ends, and are then tried again.
                    log.exception("%s: a batch was not recorded", handler.model.__name__)
                    self.stopping.wait(1)
                    done += 1
        return done

    def housekeeping(self) -> None:
        """Run the jobs whose interval has passed (a failure is logged and tried next time)."""
        for seconds, job in JOBS:
            now = time.monotonic()
            if self.jobs_due.get(job, now) > now:
                continue
            self.jobs_due[job] = now + seconds
            try:
                job()
            except Exception:
                log.exception("housekeeping %s failed", job.__qualname__)

    def carry_out(self, handler: Handler, keys: list[int]) -> int:
        """Attempt the claimed rows, recording the outcomes as it goes; how many it attempted."""
        claimed = time.monotonic()
        last_start = claimed + claims.lease().total_seconds() / 2
        outcomes: dict[int, Outcome] = {}
        attempted: set[int] = set()
        recorded = claimed
        with handler.batch(keys) as batch:
            for item in batch.items:
                if self.stopping.is_set() or time.monotonic() > last_start:
                    break
                outcomes[item.pk] = self.attempt(handler, batch, item)
                attempted.add(item.pk)
                if time.monotonic() - recorded > RECORD_SECONDS:
                    self.record(handler, outcomes)
                    outcomes, recorded = {}, time.monotonic()
        self.record(handler, outcomes)
        untried = [key for key in keys if key not in attempted]
        claims.release(handler.model, untried, worker=self.name)
        return len(attempted)

    def attempt(self, handler: Handler, batch: Batch, item: object) -> Outcome:
        token = logs.request_id.set(getattr(item, "request_id", "") or "-")
        try:
            return self._attempt(handler, batch, item)
        finally:
            logs.request_id.reset(token)

    def _attempt(self, handler: Handler, batch: Batch, item: object) -> Outcome:
        kind, key = handler.model.__name__, getattr(item, "pk", None)
        started = time.perf_counter()
        try:
            outcome = Outcome(result=batch.attempt(item))
        except Transient as error:
            outcome = Outcome(error=str(error))
        except Permanent as error:
            outcome = Outcome(error=str(error), permanent=True)
        except Exception as error:
            # A bug, not the provider: logged with its traceback, and retried like a
            # transient failure, so one bad row never stops the worker.
            log.exception("%s %s: attempt crashed", kind, key)
            outcome = Outcome(error=f"internal error: {type(error).__name__}")
        took = (time.perf_counter() - started) * 1000
        number = getattr(item, "attempts", 0) + 1
        if outcome.succeeded:
            log.info("%s %s: attempt %s succeeded in %.0fms", kind, key, number, took)
        else:
            then = "failed for good" if outcome.permanent else "failed"
            why = outcome.error
            log.info("%s %s: attempt %s %s in %.0fms: %s", kind, key, number, then, took, why)
        return outcome

    def record(self, handler: Handler, outcomes: dict[int, Outcome]) -> None:
        lost = set(outcomes) - claims.record(handler, outcomes, worker=self.name)
        for key in sorted(lost):
            log.warning(
                "%s %s: the lease ran out before the outcome was recorded",
                handler.model.__name__,
                key,
            )

    def _handle_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # a worker in a thread (tests) is stopped through `stopping`

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("worker %s stopping (signal %s)", self.name, signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
