"""The web server's worker: gunicorn's threaded worker (gthread), made to hold slow clients
without a thread. deploy/gunicorn.conf.py names it; bench/README.md ("Worker model and slow
clients") has the measurements.

Stock gthread gives a connection to a thread as soon as the connection is readable, and the
thread parses the request with blocking reads and no timeout: a client that sends part of its
headers, or part of a body, holds the thread as long as it likes (four such clients froze four
sync workers, and would freeze four threads). It also closes each connection in its main loop
with a lingering read of up to 2 s (util.close_graceful), during which the worker neither
accepts nor dispatches: a client that reads its answer but never closes stalls every other
client of that worker. BufferedThreadWorker changes four things, and nothing else:

1. The main loop reads each request with non-blocking reads, its head and its body (up to
   API_MAX_BODY_BYTES: every body the API accepts), and gives it to a thread only once it has
   all arrived; gunicorn's parser then reads it from memory. A request that has not arrived
   whole CLIENT_TIMEOUT seconds after the worker began to wait for it (the connection accepted,
   or kept alive and readable again) is closed without an answer and with one debug line, no
   traceback. The main loop answers `Expect: 100-continue`, and refuses (431, gunicorn's page)
   a head longer than gunicorn's limits allow, as the parser would.
2. The main loop lingers on closing connections without blocking (the same 2 s and 64 KiB as
   util.close_graceful).
3. A thread's socket waits at most CLIENT_TIMEOUT on one read or write: a larger body (an
   inbound email above API_MAX_BODY_BYTES) or a client that stops reading its answer. A
   request whose body did not come in whole is answered with `Connection: close`, so no thread
   ever drains what is left of it.
4. The application's Python time is bounded by gunicorn's `timeout` (sync workers' meaning
   of it): see RequestTimeout.

Only plain HTTP/1.x is buffered: with TLS, HTTP/2 cleartext or the PROXY protocol configured,
the worker reads requests in threads as gthread does (points 2-4 still hold).
"""

import ctypes
import errno
import math
import os
import re
import selectors
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import suppress
from functools import partial
from typing import Any

from gunicorn import util
from gunicorn.http.message import DEFAULT_MAX_HEADERFIELD_SIZE, MAX_HEADERS, MAX_REQUEST_LINE
from gunicorn.workers import gthread

# Seconds a client may take to send its whole request, and that a thread waits on any one read
# or write of the client's socket after that.
CLIENT_TIMEOUT = float(os.environ.get("WEB_CLIENT_TIMEOUT") or 15)
LINGER_SECONDS = 2.0  # util.close_graceful's
LINGER_BYTES = 64 * 1024
RECV_BYTES = 64 * 1024

# Framing, read off the request head only to know when a request has arrived: gunicorn's
# parser still reads and judges the request. A head these get wrong costs no thread: the
# parser refuses it (a second Content-Length, both Content-Length and Transfer-Encoding) or
# the request is answered with `Connection: close`.
_CONTENT_LENGTH = re.compile(rb"^content-length[ \t]*:[ \t]*(\d+)[ \t]*\r?$", re.I | re.M)
_TRANSFER_ENCODING = re.compile(rb"^transfer-encoding[ \t]*:", re.I | re.M)
_EXPECT_CONTINUE = re.compile(rb"^expect[ \t]*:[ \t]*100-continue[ \t]*\r?$", re.I | re.M)
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_TIMEOUT_BODY = b'{"detail": "Internal server error"}'


class RequestTimeout(Exception):
    """Raised in a request's thread when the application has run for more than gunicorn's
    `timeout` seconds, at the next Python bytecode it runs. Django turns it into the JSON 500
    (RequestIdMiddleware logs it with its traceback: where the request was stuck).

    It cannot interrupt a call into C: a database query is bounded by the database's own
    statement timeout, a socket read or write by CLIENT_TIMEOUT. Code that catches every
    Exception can swallow it. It bounds the call of the application, not the iteration of a
    streamed answer (the API streams none). Interrupted code may have left state half-done (a
    transaction block, a lock taken before its `try`), so the thread's database connections
    are dropped and the worker restarts once its other requests are done."""


class Connection(gthread.TConn):
    """A gthread connection that also holds what the main loop read of its next request."""

    def __init__(self, worker: "BufferedThreadWorker", *args: Any) -> None:
        super().__init__(*args)
        self.worker = worker
        self.received = bytearray()
        self.deadline = 0.0
        self.whole = True  # the body came in whole: a thread never waits for the client
        self.continued = False  # the main loop answered `Expect: 100-continue`
        self.refused = False  # the main loop answered an error: close gracefully

    def init(self) -> None:
        """In the thread, before it parses (gthread calls this for every request)."""
        super().init()
        self.sock.settimeout(CLIENT_TIMEOUT)
        if self.received:
            self.parser.unreader.unread(bytes(self.received))
            self.received = bytearray()

    def close(self, graceful: bool = False) -> None:
        if graceful:
            self.worker.linger(self.sock)
        else:
            super().close()


class BufferedThreadWorker(gthread.ThreadWorker):
    alive: bool
    wsgi: Callable[..., Iterable[bytes]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cfg = self.cfg
        self.buffering = (
            not cfg.is_ssl and cfg.http2_cleartext == "off" and cfg.proxy_protocol == "off"
        )
        self.head_limit = _head_limit(cfg)
        self.body_limit = 1024 * 1024  # set from the settings once the application is loaded
        # Both ordered by deadline, as each entry's is its insertion time plus a constant.
        self.reading: dict[Connection, None] = {}
        self.lingering: dict[socket.socket, list[float]] = {}  # [deadline, bytes drained]
        self.stopped_at = 0.0
        self.timing = threading.Lock()
        self.running: dict[int, list[Any]] = {}  # thread id: [deadline, fired]
        self.thread = threading.local()  # .request: the gunicorn request the thread serves

    # -- reading requests in the main loop ------------------------------------------------------

    def accept(self, listener: socket.socket) -> None:
        try:
            sock, client = listener.accept()
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.enqueue_req(Connection(self, self.cfg, sock, client, listener.getsockname()))

    def enqueue_req(self, conn: Connection) -> None:
        """A new connection, or a kept-alive one that is readable: its request goes to a
        thread once it is all here."""
        if not self.buffering:
            super().enqueue_req(conn)
            return
        if conn.parser is not None:  # what the last request's reads took of this one
            conn.received += conn.parser.unreader.take_buffered()
        conn.sock.setblocking(False)
        conn.deadline = time.monotonic() + CLIENT_TIMEOUT
        conn.whole, conn.continued = True, False
        conn.data_ready = True  # gthread's own 5 s wait for a first byte: not needed any more
        ready = self.receive(conn)  # a new connection's request has often arrived already
        if ready is None:
            self.nr_conns -= 1
            conn.close(graceful=conn.refused)
        elif ready:
            super().enqueue_req(conn)
        else:
            self.reading[conn] = None
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.readable, conn))

    def readable(self, conn: Connection, _sock: socket.socket) -> None:
        ready = self.receive(conn)
        if ready is False:
            return
        self.poller.unregister(conn.sock)
        del self.reading[conn]
        if ready:
            super().enqueue_req(conn)
        else:
            self.nr_conns -= 1
            conn.close(graceful=conn.refused)

    def receive(self, conn: Connection) -> bool | None:
        """Read what has arrived; True: the request is here (or a thread will refuse it),
        False: wait for more, None: the client is gone."""
        try:
            data = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            data = None
        except OSError:
            return None
        if data:
            conn.received += data
        ready = self.arrived(conn)
        if data == b"" and ready is False:  # closed, or half-closed, before a whole request
            return None
        return ready

    def arrived(self, conn: Connection) -> bool | None:
        received = conn.received
        end = received.find(b"\r\n\r\n")
        if end < 0:
            if len(received) > self.head_limit:
                # What a thread's parser would answer, but only after one more read.
                self.log.warning("Invalid request from %s: head too large", conn.client)
                with suppress(OSError):
                    util.write_error(conn.sock, 431, "Request Header Fields Too Large", "")
                conn.refused = True
                return None
            return False
        if _TRANSFER_ENCODING.search(received, 0, end):
            conn.whole = False  # chunked: the API refuses it (411) without reading it
            return True
        length = _CONTENT_LENGTH.search(received, 0, end)
        if length is None or len(received) - end - 4 >= int(length[1]):
            return True
        if int(length[1]) > self.body_limit:
            conn.whole = False
            return True
        if not conn.continued and _EXPECT_CONTINUE.search(received, 0, end):
            conn.continued = True
            request_line = received[: received.find(b"\r\n", 2)]
            if request_line.endswith(b"HTTP/1.1"):
                try:
                    conn.sock.send(_CONTINUE)  # 25 bytes to a socket that has sent nothing
                except OSError:
                    return True  # the thread will find out
        return False

    def handle_request(self, req: Any, conn: Connection) -> bool:
        if not conn.whole:
            req.force_close()
        if conn.continued:
            req._expected_100_continue = False  # answered: gunicorn would send another
        self.thread.request = req
        try:
            keep = bool(super().handle_request(req, conn))
            if not keep:  # the client's end of the answer now, not after the main loop's turn
                with suppress(OSError):
                    conn.sock.shutdown(socket.SHUT_WR)
            return keep
        except TimeoutError:
            self.log.debug(
                "Closed the connection of %s: it stopped reading or sending", conn.client
            )
            return False

    # -- closing without blocking the main loop --------------------------------------------------

    def linger(self, sock: socket.socket) -> None:
        """util.close_graceful, in the poller: FIN (if the thread has not sent it), then read
        until the peer's."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self.drain)
        except (OSError, ValueError, KeyError):
            util.close(sock)
            return
        self.nr_conns += 1  # a stopping worker waits for it too
        self.lingering[sock] = [time.monotonic() + LINGER_SECONDS, 0]

    def drain(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        state = self.lingering[sock]
        state[1] += len(data)
        if not data or state[1] >= LINGER_BYTES:
            self.closed_lingering(sock)

    def closed_lingering(self, sock: socket.socket) -> None:
        del self.lingering[sock]
        self.poller.unregister(sock)
        self.nr_conns -= 1
        util.close(sock)

    # -- deadlines, checked by the main loop after each round of events ---------------------

    def murder_pending(self) -> None:
        super().murder_pending()
        now = time.monotonic()
        horizon = now
        if not self.alive:
            # Stopping: requests still arriving get what kept-alive connections get.
            self.stopped_at = self.stopped_at or now
            if now >= self.stopped_at + gthread.STOP_KEEPALIVE_LINGER:
                horizon = math.inf
        for conn in _until(self.reading, lambda c: c.deadline <= horizon):
            self.log.debug("Closed the connection of %s: no whole request in time", conn.client)
            del self.reading[conn]
            self.poller.unregister(conn.sock)
            self.nr_conns -= 1
            conn.close()
        for sock in _until(self.lingering, lambda s: self.lingering[s][0] <= now):
            self.closed_lingering(sock)
        self.fire_overdue(now)

    # -- the application's time -------------------------------------------------------------

    def load_wsgi(self) -> None:
        super().load_wsgi()
        from django.conf import settings

        self.body_limit = settings.API_MAX_BODY_BYTES
        self.wsgi = partial(self.timed, self.wsgi)

    def timed(
        self,
        application: Callable[..., Iterable[bytes]],
        environ: dict[str, Any],
        start_response: Callable[..., Any],
    ) -> Iterable[bytes]:
        """The application, bounded to `timeout` seconds (RequestTimeout)."""
        ident = threading.get_ident()
        timer = [time.monotonic() + (self.cfg.timeout or math.inf), False]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            # Interrupted in the outermost middleware, Django answers without a request id.
            if timer[1] and not any(name.lower() == "x-request-id" for name, _ in headers):
                headers.append(("X-Request-ID", uuid.uuid4().hex))
            return start_response(status, headers, exc_info)

        with self.timing:
            self.running[ident] = timer
        answer = None
        try:
            answer = application(environ, start)
            self.stop_timer(ident)
        except RequestTimeout:  # raised outside Django's handlers, or as it returned
            self.stop_timer(ident)
            if answer is not None and hasattr(answer, "close"):
                with suppress(Exception):
                    answer.close()  # Django's request_finished
            request_id = uuid.uuid4().hex
            headers = [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(_TIMEOUT_BODY))),
                ("Cache-Control", "no-store"),
                ("X-Request-ID", request_id),
            ]
            start_response("500 Internal Server Error", headers, sys.exc_info())
            answer = [_TIMEOUT_BODY]
        if timer[1]:
            self.retire(environ)
        if not self.alive:  # stopping: the answer says `Connection: close`, no linger after it
            self.thread.request.force_close()
        return answer

    def stop_timer(self, ident: int) -> None:
        with self.timing:
            timer = self.running.pop(ident, None)
            if timer is not None and timer[1]:
                # Not raised yet (it was due as the application returned): it never will be.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), None)

    def fire_overdue(self, now: float) -> None:
        with self.timing:
            for ident, timer in self.running.items():
                if not timer[1] and timer[0] <= now:
                    timer[1] = True
                    ctypes.pythonapi.PyThreadState_SetAsyncExc(
                        ctypes.c_ulong(ident), ctypes.py_object(RequestTimeout)
                    )

    def retire(self, environ: dict[str, Any]) -> None:
        from django.db import connections

        for connection in connections.all(initialized_only=True):
            with suppress(Exception):  # dropped below, whatever state it was left in
                connection.close()
            del connections[connection.alias]  # this thread's: its next request opens a new one
        self.log.warning(
            "%s %s ran past the %s s timeout and was interrupted; this worker restarts once "
            "its other requests are done",
            environ.get("REQUEST_METHOD"),
            environ.get("PATH_INFO"),
            self.cfg.timeout,
        )
        if self.alive:
            self.alive = False
            self.method_queue.defer(lambda: None)  # wakes the main loop, as SIGTERM does


def _head_limit(cfg: Any) -> int:
    """The most head gunicorn's parser reads before it refuses it (LimitRequestHeaders, with
    the limits as http/message.py sets them): beyond it, the main loop answers that refusal."""
    fields = cfg.limit_request_fields
    field_size = cfg.limit_request_field_size
    line = cfg.limit_request_line
    fields = fields if 0 < fields <= MAX_HEADERS else MAX_HEADERS
    field_size = field_size if field_size > 0 else DEFAULT_MAX_HEADERFIELD_SIZE
    line = 1 << 20 if line == 0 else min(line if line > 0 else MAX_REQUEST_LINE, MAX_REQUEST_LINE)
    return fields * (field_size + 2) + 4 + line


def _until(ordered: dict[Any, Any], due: Callable[[Any], bool]) -> list[Any]:
    """The leading keys of an ordered dict for which `due` holds (a copy: safe to delete)."""
    keys = []
    for key in ordered:
        if not due(key):
            break
        keys.append(key)
    return keys
