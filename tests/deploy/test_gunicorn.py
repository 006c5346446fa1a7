"""deploy/gunicorn.conf.py, run for real: two servers on one host each keep their own
control socket (gunicorn's default is one per user, which the second would take); the worker
(hyperrep/serving.py) reads requests whole before a thread takes them and still speaks
HTTP/1.1 as gunicorn does (100-continue, keep-alive, pipelining, refusals); a request that
runs too long is answered with the JSON 500; SIGTERM lets the requests in flight finish."""

import hashlib
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from unittest.mock import Mock

import pytest

from hyperrep.serving import BufferedThreadWorker, RequestTimeout
from tests.deploy.servers import ROOT, connect, read_to_end, serve
from tests.helpers import free_port


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    with ExitStack() as stack:

        def start(port: int, **environment: str) -> subprocess.Popen:
            return stack.enter_context(serve(tmp_path, port, **environment))

        yield start


SLOW = {"DJANGO_SETTINGS_MODULE": "tests.deploy.slow_settings"}


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """One server for the tests that leave it running: the /slow view, 2 workers of 2
    threads, a 3 s request timeout."""
    port = free_port()
    directory = tmp_path_factory.mktemp("gunicorn")
    environment = {**SLOW, "WEB_CONCURRENCY": "2", "WEB_THREADS": "2", "GUNICORN_TIMEOUT": "3"}
    with serve(directory, port, **environment):
        yield port


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


def test_two_servers_on_one_host_keep_their_own_control_sockets(
    start_server: Callable[..., subprocess.Popen],
) -> None:
    first, second = free_port(), free_port()
    start_server(first)
    start_server(second)
    sockets = [ROOT / "var" / f"gunicorn-127.0.0.1_{port}.ctl" for port in (first, second)]
    for path in sockets:
        deadline = time.monotonic() + 10
        while not path.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert path.is_socket(), path


def test_a_body_announced_with_expect_100_continue_is_asked_for_once_and_read_whole(
    port: int,
) -> None:
    body = os.urandom(300_000)
    with connect(port) as connection:
        connection.sendall(
            b"POST /slow?seconds=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        connection.settimeout(2)
        assert connection.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        connection.settimeout(10)
        connection.sendall(body)
        answer = read_to_end(connection)
    status, _, content = split(answer)
    assert status == 200, answer
    assert b"100 Continue" not in answer
    assert json.loads(content) == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_kept_alive_and_pipelined_requests_are_all_answered_in_order(port: int) -> None:
    request = b"GET /slow?seconds=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    post = b"POST /slow?seconds=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nabcde"
    last = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    with connect(port) as connection:
        connection.sendall(request)  # alone: then it waits in the poller, kept alive
        time.sleep(0.3)
        connection.sendall(post + request + last[:20])  # pipelined, the last one cut short
        time.sleep(0.3)
        connection.sendall(last[20:])
        answer = read_to_end(connection)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 4, answer
    assert b'"length": 5' in answer
    assert answer.endswith(b'{"status":"ok"}')


def test_a_chunked_body_is_refused_and_its_connection_closed(port: int) -> None:
    with connect(port) as connection:
        connection.sendall(
            b"POST /api/v2/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n5\r\nabc"  # and never the rest
        )
        began = time.monotonic()
        status, headers, body = split(read_to_end(connection))
    assert status == 411
    assert b'{"detail":"Content-Length required"}' in body  # chunked: gunicorn frames it
    assert headers["connection"] == "close"
    assert time.monotonic() - began < 2


def test_a_body_larger_than_the_api_takes_is_refused_before_it_is_sent(port: int) -> None:
    with connect(port) as connection:
        connection.sendall(
            b"POST /api/v2/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"
        )
        status, headers, _ = split(read_to_end(connection))
    assert status == 413
    assert headers["connection"] == "close"


@pytest.mark.parametrize(
    "head",
    [
        b"X-Big: " + b"a" * 9000 + b"\r\n\r\n",  # a field too large
        b"".join(b"X-%d: %s\r\n" % (n, b"a" * 8000) for n in range(110)),  # no end in sight
    ],
    ids=["field", "endless"],
)
def test_a_head_too_large_is_refused_at_once(port: int, head: bytes) -> None:
    began = time.monotonic()
    with connect(port) as connection:
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n" + head)
        status, headers, _ = split(read_to_end(connection))
    assert status == 431  # gunicorn's own refusal, in HTML
    assert headers["connection"] == "close"
    assert time.monotonic() - began < 2


def test_a_request_that_runs_past_the_timeout_is_answered_with_the_json_500(port: int) -> None:
    began = time.monotonic()
    with connect(port) as connection:
        connection.sendall(b"GET /slow?seconds=20 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        status, headers, body = split(read_to_end(connection))
    assert (status, json.loads(body)) == (500, {"detail": "Internal server error"})
    assert len(headers["x-request-id"]) == 32
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"  # the worker is stopping: it restarts
    assert 3 <= time.monotonic() - began < 6
    # The other worker answers meanwhile, and the replaced one comes back.
    deadline = time.monotonic() + 20
    answered = 0
    while answered < 10 and time.monotonic() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
            answered += answer.status == 200
    assert answered == 10


def bare_worker(timeout: int) -> BufferedThreadWorker:
    """The worker's request timing, without gunicorn around it."""
    worker = BufferedThreadWorker.__new__(BufferedThreadWorker)
    worker.cfg = SimpleNamespace(timeout=timeout)
    worker.log, worker.method_queue, worker.alive = Mock(), Mock(), True
    worker.timing, worker.running, worker.thread = threading.Lock(), {}, threading.local()
    return worker


def serve_in_thread(worker: BufferedThreadWorker, application: Any) -> tuple[list, list, Mock]:
    """Runs `application` through worker.timed in a thread, the main loop's deadline checks
    in this one, until it has answered."""
    answers: list = []
    started: list = []
    request = Mock()

    def serve() -> None:
        worker.thread.request = request
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}
        answers.append(worker.timed(application, environ, lambda *a: started.append(a)))
        time.sleep(0.3)  # nothing is raised here any more
        answers.append("done")

    thread = threading.Thread(target=serve)
    thread.start()
    while thread.is_alive():
        worker.fire_overdue(time.monotonic())
        time.sleep(0.02)
    return answers, started, request


def test_a_timeout_raised_outside_djangos_handlers_is_answered_by_the_worker() -> None:
    def application(environ: dict, start_response: Any) -> list[bytes]:
        time.sleep(1.5)  # in C at the deadline: raised at the next bytecode, here
        start_response("200 OK", [])
        return [b"late"]

    worker = bare_worker(timeout=1)
    answers, started, request = serve_in_thread(worker, application)
    assert answers == [[b'{"detail": "Internal server error"}'], "done"]
    status, headers, exc_info = started[-1]
    assert status == "500 Internal Server Error"
    assert len(dict(headers)["X-Request-ID"]) == 32
    assert exc_info[0] is RequestTimeout
    assert worker.alive is False  # it restarts
    request.force_close.assert_called_once_with()


def test_a_request_within_its_time_is_never_interrupted() -> None:
    def application(environ: dict, start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"fine"]

    worker = bare_worker(timeout=1)
    answers, started, request = serve_in_thread(worker, application)
    assert answers == [[b"fine"], "done"]
    assert started == [("200 OK", [], None)]
    assert worker.running == {}
    worker.fire_overdue(time.monotonic() + 3600)  # long after: nothing left to interrupt
    assert worker.alive is True
    request.force_close.assert_not_called()


def test_sigterm_lets_a_request_in_flight_finish_then_exits_0(
    start_server: Callable[..., subprocess.Popen],
) -> None:
    port = free_port()
    server = start_server(port, **SLOW)
    answers: list[bytes] = []

    def slow_request() -> None:
        with connect(port) as connection:
            connection.sendall(b"GET /slow?seconds=1.5 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answers.append(read_to_end(connection))

    client = threading.Thread(target=slow_request)
    client.start()
    time.sleep(0.5)  # the request is in its view
    began = time.monotonic()
    server.send_signal(signal.SIGTERM)
    try:
        assert server.wait(timeout=20) == 0
    finally:
        client.join(timeout=20)
    assert time.monotonic() - began < 20
    assert len(answers) == 1
    status, headers, _ = split(answers[0])
    assert status == 200
    assert headers["connection"] == "close"


def test_with_log_format_json_every_line_is_a_json_object_and_the_metrics_dir_goes(
    tmp_path: Path,
) -> None:
    import json

    port, temporary = free_port(), tmp_path / "tmp"
    temporary.mkdir()
    with serve(tmp_path, port, LOG_FORMAT="json", TMPDIR=str(temporary)):
        connection = connect(port)
        connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        assert split(read_to_end(connection))[0] == 200
        connection.close()
        assert [p.name[:17] for p in temporary.iterdir()] == ["hyperrep-metrics-"]
    assert list(temporary.iterdir()) == []  # the server removed the one it made
    lines = (tmp_path / f"gunicorn-{port}.log").read_text().splitlines()
    # (Python's own warnings, such as WhiteNoise's about uncollected static files, are not
    # log records: they are left as they are.)
    records = [json.loads(line) for line in lines if not line.startswith((" ", "/"))]
    loggers = {record["logger"] for record in records}
    assert {"gunicorn.error", "hyperrep.request"} <= loggers
    assert "gunicorn.access" not in loggers
    assert all(record["time"].endswith("+00:00") for record in records)
