"""The project's processes, started for a test: a command run to its end (`run`), and
gunicorn with deploy/gunicorn.conf.py on a free loopback port, on an empty SQLite database,
stopped with SIGTERM at the end (`serve`)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def run(
    command: Sequence[str | Path], env: Mapping[str, str], *, timeout: float = 120, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    """`command` run to its end (at most `timeout` seconds), in the project's root unless
    told, with exactly `env`; its output captured as text, its exit status for the test."""
    return subprocess.run(  # noqa: S603 (the tests' own commands)
        [str(part) for part in command],
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def wait_until_serving(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn exited"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn did not answer on {port} within 30 s")


@contextmanager
def serve(directory: Path, port: int, **environment: str) -> Iterator[subprocess.Popen]:
    """gunicorn -c deploy/gunicorn.conf.py on 127.0.0.1:`port`, one worker unless told, on an
    empty SQLite database (no request of these tests reads one), its log in
    `directory`/gunicorn-`port`.log; SIGTERM at the end."""
    env = {
        **os.environ,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
        "DATABASE_URL": f"sqlite:///{directory}/db.sqlite3",
        **environment,
    }
    env.pop("GUNICORN_CONTROL_SOCKET", None)
    with (directory / f"gunicorn-{port}.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "hyperrep.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        wait_until_serving(port, server)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def read_to_end(connection: socket.socket) -> bytes:
    received = [connection.recv(65536)]
    while received[-1]:
        received.append(connection.recv(65536))
    return b"".join(received)
