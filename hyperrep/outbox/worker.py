"""The worker: claims due outbox rows, carries each out outside any transaction, records the
outcome, and sleeps briefly when nothing is due (so a row is picked up within a fraction of a
second of falling due). Any number of workers may run on PostgreSQL.

On SIGTERM or SIGINT it stops claiming, finishes the row in hand (every network call it makes
is bounded by a timeout) and gives back the rows it claimed and did not start."""

import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Sequence
from types import FrameType

from django.db import close_old_connections, connection
from django.utils import timezone

from hyperrep.outbox import claims
from hyperrep.outbox.claims import Handler, Outcome, Permanent, Transient

log = logging.getLogger("hyperrep.outbox")

# The handler of every kind of outbox row, in the order a worker serves them. The apps that
# own the rows register them when they load (their AppConfig.ready).
HANDLERS: list[Handler] = []


def register(handler: Handler) -> None:
    """Serve `handler.model`'s rows with `handler` (once, however often an app loads)."""
    if all(known.model is not handler.model for known in HANDLERS):
        HANDLERS.append(handler)


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

    def run(self, *, until_idle: bool = False) -> None:
        """Serve until stopped (or, with `until_idle`, until nothing is due)."""
        self._handle_signals()
        log.info("worker %s started", self.name)
        while not self.stopping.is_set():
            if not connection.in_atomic_block:  # (a test runs it inside its transaction)
                close_old_connections()  # as a request's end does: no connection outlives its age
            if self.run_once() == 0:
                if until_idle:
                    break
                self.stopping.wait(self.idle_seconds)
        log.info("worker %s stopped", self.name)

    def run_once(self) -> int:
        """Claim and carry out one batch of each kind of row; how many were carried out."""
        done = 0
        for handler in self.handlers:
            keys = claims.claim(
                handler.model, worker=self.name, now=timezone.now(), limit=self.batch
            )
            for index, key in enumerate(keys):
                if self.stopping.is_set():
                    claims.release(handler.model, keys[index:], worker=self.name)
                    return done
                try:
                    self.carry_out(handler, key)
                except Exception:
                    # Recording failed (the database went away, a bug): the row keeps its
                    # claim until the lease ends, and is then claimed and tried again.
                    log.exception(
                        "%s %s: the outcome was not recorded", handler.model.__name__, key
                    )
                    self.stopping.wait(1)
                done += 1
        return done

    def carry_out(self, handler: Handler, key: int) -> None:
        item = handler.model.objects.unscoped().get(pk=key)  # type: ignore[attr-defined]
        started = time.perf_counter()
        try:
            outcome = Outcome(result=handler.attempt(item))
        except Transient as error:
            outcome = Outcome(error=str(error))
        except Permanent as error:
            outcome = Outcome(error=str(error), permanent=True)
        except Exception as error:
            # A bug, not the provider: logged with its traceback, and retried like a
            # transient failure, so one bad row never stops the worker.
            log.exception("%s %s: attempt crashed", handler.model.__name__, key)
            outcome = Outcome(error=f"internal error: {type(error).__name__}")
        kind = handler.model.__name__
        if not claims.record(handler, key, worker=self.name, outcome=outcome):
            log.warning("%s %s: the lease ran out before the outcome was recorded", kind, key)
            return
        took = (time.perf_counter() - started) * 1000
        if outcome.succeeded:
            log.info("%s %s: attempt %s succeeded in %.0fms", kind, key, item.attempts + 1, took)
        else:
            then = "failed for good" if outcome.permanent else "failed"
            log.info(
                "%s %s: attempt %s %s in %.0fms: %s",
                kind,
                key,
                item.attempts + 1,
                then,
                took,
                outcome.error,
            )

    def _handle_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # a worker in a thread (tests) is stopped through `stopping`

        def stop(signum: int, frame: FrameType | None) -> None:
            log.info("worker %s stopping (signal %s)", self.name, signum)
            self.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
