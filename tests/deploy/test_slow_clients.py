"""Slow clients do not slow anyone else down: with three times as many slow connections as
the server has threads (partial headers a byte a second, a POST's body a byte a second,
connections that send nothing, answers never read), /healthz and /api/v2/organizations
answer as fast as ever; then the server closes the slow ones at WEB_CLIENT_TIMEOUT, quietly."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from bench.load import rank
from tests.deploy.servers import connect, read_to_end, serve
from tests.helpers import free_port

WORKERS, THREADS = 2, 2
CLIENT_TIMEOUT = 6
HOLD_SECONDS = 4  # normal requests are measured while every slow connection is held

PARTIAL_HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
PARTIAL_BODY = (
    b"POST /api/v2/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
)
UNREAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    port = free_port()
    environment = {
        "WEB_CONCURRENCY": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        "WEB_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT),
    }
    with serve(tmp_path, port, **environment):
        yield port, tmp_path / f"gunicorn-{port}.log"


def get(port: int, path: str) -> tuple[float, bytes]:
    began = time.perf_counter()
    with connect(port) as connection:
        connection.sendall(
            b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path.encode()
        )
        answer = read_to_end(connection)
    return (time.perf_counter() - began) * 1000, answer[:12]


def test_slow_clients_hold_no_thread_and_are_closed_quietly(server: tuple[int, Path]) -> None:
    port, log = server
    count = 3 * WORKERS * THREADS
    trickling: list[socket.socket] = []
    idle: list[socket.socket] = []
    unread: list[socket.socket] = []
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1):
            for connection in trickling:
                with suppress(OSError):  # closed by the server at its deadline
                    connection.send(b"a")

    feeder = threading.Thread(target=trickle)
    opened = time.monotonic()
    try:
        for number in range(count):
            connection = connect(port)
            if number % 3 == 0:
                connection.sendall(PARTIAL_HEAD)
                trickling.append(connection)
            elif number % 3 == 1:
                connection.sendall(PARTIAL_BODY)
                trickling.append(connection)
            else:
                idle.append(connection)
        for _ in range(2):  # answered, then never read nor closed
            unread.append(connect(port))
            unread[-1].sendall(UNREAD)
        feeder.start()

        latencies: list[float] = []
        statuses = set()
        while time.monotonic() < opened + HOLD_SECONDS and len(latencies) < 400:
            for path in ("/healthz", "/api/v2/organizations"):
                milliseconds, status_line = get(port, path)
                latencies.append(milliseconds)
                statuses.add(status_line)
        assert statuses == {b"HTTP/1.1 200", b"HTTP/1.1 403"}
        assert max(latencies) < 1000, sorted(latencies)[-5:]
        assert rank(latencies, 50) < 100, rank(latencies, 50)

        # Held until now: no answer, no close. Then closed, unanswered, at the deadline.
        stop.set()
        feeder.join(timeout=5)
        for connection in trickling + idle:
            connection.settimeout(0.01)
            with pytest.raises(TimeoutError):
                connection.recv(1)
        for connection in trickling + idle:
            connection.settimeout(max(opened + CLIENT_TIMEOUT + 3 - time.monotonic(), 0.1))
            with suppress(ConnectionResetError):
                assert connection.recv(65536) == b""
        assert time.monotonic() - opened < CLIENT_TIMEOUT + 3
    finally:
        stop.set()
        if feeder.is_alive():
            feeder.join(timeout=5)
        for connection in trickling + idle + unread:
            connection.close()
    text = log.read_text()
    assert "Traceback" not in text
    assert "Error" not in text
