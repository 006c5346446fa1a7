"""deploy/gunicorn.conf.py, run for real: two servers on one host each keep their own
control socket (gunicorn's default is one per user, which the second would take)."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[[int], subprocess.Popen]]:
    servers: list[subprocess.Popen] = []

    def start(port: int) -> subprocess.Popen:
        environment = {
            **os.environ,
            "BIND": f"127.0.0.1:{port}",
            "WEB_CONCURRENCY": "1",
            "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite3",
            "SECRET_KEY": "gunicorn-test",
        }
        environment.pop("GUNICORN_CONTROL_SOCKET", None)
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", "hyperrep.wsgi"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(server)
        wait_until_serving(port, server)
        return server

    yield start
    for server in servers:
        server.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def test_two_servers_on_one_host_keep_their_own_control_sockets(
    start_server: Callable[[int], subprocess.Popen],
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
