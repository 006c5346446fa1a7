"""deploy/nginx/, run for real: Debian's nginx with the compose service's own template, in
front of a real gunicorn, over TLS with a certificate made here. Through the proxy an API
request is answered by the application (its headers, the forwarding headers it was given),
and a body sent slowly reaches gunicorn whole. What the proxy refuses or cannot pass on is
answered by the proxy in the API's error shape, JSON with an X-Request-ID: a request line or
a header too long (414, 431), a malformed request (400), /metrics without a token (403), a
body over the largest inbound email (413), gunicorn gone (502), an answer later than
proxy_read_timeout (504). Plain http is redirected to https, but /healthz.

CI installs nginx with .ci/install-packages; elsewhere these tests are skipped without it."""

import datetime
import hashlib
import http.client
import ipaddress
import json
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import ssl
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import connection
from pytest_django import DjangoDbBlocker

from apps.keys.models import ApiKey
from apps.keys.services import api_key_create
from tests.deploy.servers import ROOT, read_to_end, serve
from tests.factories import OrganizationFactory
from tests.helpers import free_port

TEMPLATE = ROOT / "deploy" / "nginx" / "templates" / "default.conf.template"
NGINX = shutil.which("nginx") or next(
    (path for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(path, os.X_OK)),
    None,
)
NOT_INSTALLED = "nginx is not installed (Debian: nginx-light; .ci/install-packages installs it)"
# Under CI (CI=1) a missing nginx fails these tests rather than skipping them.
pytestmark = [
    pytest.mark.skipif(NGINX is None and not os.environ.get("CI"), reason=NOT_INSTALLED),
    pytest.mark.django_db,  # so that the test database is made: `served` writes to it
]

READ_TIMEOUT = 1  # seconds, the proxy's proxy_read_timeout in these tests
CLIENT_TIMEOUT = 2  # seconds gunicorn gives a request to arrive whole (WEB_CLIENT_TIMEOUT)
SETTINGS = {"DJANGO_SETTINGS_MODULE": "tests.deploy.proxy_settings"}


@dataclass
class Proxy:
    http_port: int
    https_port: int
    tls: ssl.SSLContext
    log: Path

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        """One request over TLS; the status, the headers (lower-cased names), the body."""
        client = http.client.HTTPSConnection(
            "127.0.0.1", self.https_port, context=self.tls, timeout=15
        )
        try:
            client.request(method, path, body=body or None, headers=headers or {})
            answer = client.getresponse()
            content = answer.read()
            fields = {name.lower(): value for name, value in answer.getheaders()}
            return answer.status, fields, content
        finally:
            client.close()

    def raw(self, data: bytes) -> tuple[int, dict[str, str], bytes]:
        """Bytes as they are, over TLS, then the answer read to the end."""
        plain = socket.create_connection(("127.0.0.1", self.https_port), timeout=15)
        with plain, self.tls.wrap_socket(plain, server_hostname="127.0.0.1") as connection:
            connection.sendall(data)
            return split(read_to_end(connection))


def split(answer: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in fields.items()}, body


def assert_proxy_error(
    answer: tuple[int, dict[str, str], bytes], status: int, detail: str
) -> dict[str, str]:
    got, headers, body = answer
    assert got == status, answer
    assert headers["content-type"] == "application/json", headers
    assert json.loads(body) == {"detail": detail}
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"]), headers
    return headers


def certificate(directory: Path) -> ssl.SSLContext:
    """A self-signed certificate for 127.0.0.1 in `directory` (fullchain.pem, privkey.pem),
    and a client context that trusts only it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(cafile=str(directory / "fullchain.pem"))
    return context


def render(values: dict[str, str]) -> str:
    """The template as the nginx image's envsubst renders it: each ${NAME} replaced."""
    text = TEMPLATE.read_text()
    names = set(re.findall(r"\$\{(\w+)\}", text))
    assert names == set(values), names ^ set(values)
    for name, value in values.items():
        text = text.replace(f"${{{name}}}", value)
    return text


@contextmanager
def nginx(directory: Path, upstream_port: int) -> Iterator[Proxy]:
    """nginx in the foreground with the rendered template inside a minimal http {} block (the
    one the nginx image's nginx.conf gives it), its logs and temporary files in `directory`."""
    assert NGINX is not None, NOT_INSTALLED
    directory.mkdir(parents=True)
    tls = certificate(directory / "certs")
    http_port, https_port = free_port(), free_port()
    conf = directory / "hyperrep.conf"
    conf.write_text(
        render(
            {
                "HYPERREP_UPSTREAM": f"127.0.0.1:{upstream_port}",
                "NGINX_HTTP_PORT": str(http_port),
                "NGINX_HTTPS_PORT": str(https_port),
                "NGINX_CERT_DIR": str(directory / "certs"),
                "NGINX_PROXY_READ_TIMEOUT": f"{READ_TIMEOUT}s",
            }
        ).replace("/dev/stdout", str(directory / "access.log"))
    )
    # As root, the workers run as root too: they write the temporary files here.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else ""
    temporary = "\n".join(
        f"    {kind}_temp_path {directory / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    main = directory / "nginx.conf"
    main.write_text(
        f"""{user}
worker_processes 1;
pid {directory / "nginx.pid"};
error_log {directory / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
{temporary}
    include {conf};
}}
"""
    )
    command = [
        str(NGINX),
        "-p",
        str(directory),
        "-c",
        str(main),
        "-e",
        str(directory / "error.log"),
    ]
    checked = subprocess.run(  # noqa: S603
        [*command, "-t", "-q"], capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr
    with (directory / "nginx.out").open("wb") as output:
        process = subprocess.Popen(  # noqa: S603
            [*command, "-g", "daemon off;"], stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, (directory / "nginx.out").read_text()
            try:
                socket.create_connection(("127.0.0.1", https_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen within 15 s"
                time.sleep(0.1)
        yield Proxy(http_port, https_port, tls, directory / "access.log")
    finally:
        process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight, then exit
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def served(
    django_db_setup: None,
    django_db_blocker: DjangoDbBlocker,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, str, str]]:
    """An organization and its key, committed where a gunicorn process reads them: the test
    database itself on PostgreSQL; on SQLite (an in-memory test database) a file copy of it.
    The DATABASE_URL, the organization's id and the key; removed again at the end."""
    with django_db_blocker.unblock():
        organization = OrganizationFactory.create(name="Proxied Roofing")
        key, plaintext = api_key_create(organizations=[organization], name="proxy")
        try:
            if connection.vendor == "sqlite":
                path = tmp_path_factory.mktemp("database") / "db.sqlite3"
                connection.ensure_connection()
                with sqlite3.connect(path) as copy:
                    connection.connection.backup(copy)
                copy.close()
                url = f"sqlite:///{path}"
            else:
                database = connection.settings_dict
                credentials = quote(database["USER"] or "", safe="")
                if database["PASSWORD"]:
                    credentials += ":" + quote(database["PASSWORD"], safe="")
                host = database["HOST"] or "127.0.0.1"
                port = database["PORT"] or 5432
                url = f"postgres://{credentials}@{host}:{port}/{quote(database['NAME'], safe='')}"
            yield url, organization.public_id, plaintext
        finally:
            ApiKey.objects.filter(pk=key.pk).delete()
            organization.delete()


def gunicorn_environment(database_url: str) -> dict[str, str]:
    return {
        **SETTINGS,
        "METRICS_TOKEN": "",
        "WEB_CLIENT_TIMEOUT": str(CLIENT_TIMEOUT),
        "DATABASE_URL": database_url,
        "SECRET_KEY": settings.SECRET_KEY,
        "API_KEY_SECRET": settings.API_KEY_SECRET,
        "WEB_THREADS": "4",
    }


@pytest.fixture(scope="module")
def proxy(
    served: tuple[str, str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Proxy]:
    """gunicorn (one worker of four threads) on the served database, nginx in front of it."""
    directory = tmp_path_factory.mktemp("proxy")
    upstream = free_port()
    with ExitStack() as stack:
        stack.enter_context(serve(directory, upstream, **gunicorn_environment(served[0])))
        yield stack.enter_context(nginx(directory / "nginx", upstream))


def test_an_api_request_is_answered_by_the_application_with_its_headers(
    proxy: Proxy, served: tuple[str, str, str]
) -> None:
    _, organization_id, key = served
    status, headers, body = proxy.request(
        "GET", "/api/v2/organizations", {"X-API-KEY": key, "X-Request-ID": "proxied-1"}
    )
    assert status == 200, body
    assert json.loads(body) == {
        "data": [{"organization_id": organization_id, "name": "Proxied Roofing"}]
    }
    assert headers["content-type"] == "application/json"
    assert headers["x-request-id"] == "proxied-1"  # the client's, passed through
    assert headers["ratelimit-policy"].startswith('"default";')
    assert headers["ratelimit"].startswith('"default";')
    assert "nginx/" not in headers.get("server", "")  # no version for the curious

    status, headers, body = proxy.request("GET", f"/api/v2/organizations/{organization_id}")
    assert (status, json.loads(body)) == (403, {"detail": "Missing API Key"})
    assert re.fullmatch(r"[0-9a-f]{32}", headers["x-request-id"])  # the proxy's, given to it


def test_the_application_is_told_the_scheme_the_client_and_the_request_id(
    proxy: Proxy,
) -> None:
    status, headers, body = proxy.request("GET", "/echo", {"X-Forwarded-For": "203.0.113.9"})
    assert status == 200, body
    seen = json.loads(body)
    assert seen["secure"] is True
    assert seen["forwarded_proto"] == "https"
    assert seen["host"] == "127.0.0.1"
    assert seen["forwarded_for"] == "203.0.113.9, 127.0.0.1"  # appended to, not replaced
    assert seen["request_id"] == headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", seen["request_id"])
    # A request id the application would not keep is replaced by the proxy's own.
    _, headers, body = proxy.request("GET", "/echo", {"X-Request-ID": "no spaces allowed"})
    assert json.loads(body)["request_id"] == headers["x-request-id"] != "no spaces allowed"


def test_metrics_through_the_proxy_need_a_token(proxy: Proxy) -> None:
    # gunicorn sees every proxied request come from loopback, which may read the metrics
    # without a token (no METRICS_TOKEN here): the proxy asks for one itself.
    for path in ("/metrics", "/metrics/", "//metrics", "/%6detrics"):
        assert_proxy_error(proxy.request("GET", path), 403, "Permission denied")
    status, _, body = proxy.request("GET", "/metrics", {"Authorization": "Bearer any"})
    assert status == 200
    assert b"hyperrep_http_requests_total" in body


def test_a_request_line_over_the_limit_is_refused_by_the_proxy(proxy: Proxy) -> None:
    path = "/api/v2/organizations?q=" + "a" * 5000
    assert_proxy_error(proxy.request("GET", path), 414, "URI too long")
    status, _, _ = proxy.request("GET", "/api/v2/organizations?q=" + "a" * 3000)
    assert status == 403  # under it: the application answers


def test_request_headers_too_large_are_refused_by_the_proxy_with_431(proxy: Proxy) -> None:
    answer = proxy.request("GET", "/api/v2/organizations", {"X-Large": "b" * 5000})
    assert_proxy_error(answer, 431, "Request header fields too large")


def test_a_malformed_request_is_refused_by_the_proxy(proxy: Proxy) -> None:
    assert_proxy_error(proxy.raw(b"NOT A REQUEST\r\n\r\n"), 400, "Bad request")
    answer = proxy.raw(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBroken header\r\n\r\n")
    assert_proxy_error(answer, 400, "Bad request")


def test_bodies_too_large_for_the_proxy_and_for_the_api(
    proxy: Proxy, served: tuple[str, str, str]
) -> None:
    _, organization_id, key = served
    # Refused on its Content-Length, before a byte of the body is read.
    head = (
        b"POST /api/v2/organizations HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
        % (settings.INBOUND_EMAIL_MAX_BYTES + 2 * 1024 * 1024)
    )
    assert_proxy_error(proxy.raw(head), 413, "Request body is larger than 27262976 bytes")
    # 2 MiB, over the API's 1 MiB: read whole by the proxy, refused by the application (in
    # its words, which name its own limit).
    body = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    status, _, content = proxy.request(
        "POST",
        f"/api/v2/organizations/{organization_id}/contacts",
        {"X-API-KEY": key, "Content-Type": "application/json"},
        body,
    )
    detail = f"Request body is larger than {settings.API_MAX_BODY_BYTES} bytes"
    assert (status, json.loads(content)) == (413, {"detail": detail})


def test_a_body_sent_slowly_reaches_gunicorn_whole_and_at_once(proxy: Proxy) -> None:
    """Longer in coming than gunicorn would wait for it: nginx holds it until it is whole."""
    body = os.urandom(3 * 100_000)
    plain = socket.create_connection(("127.0.0.1", proxy.https_port), timeout=15)
    with plain, proxy.tls.wrap_socket(plain, server_hostname="127.0.0.1") as connection:
        connection.sendall(
            b"POST /slow?seconds=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        began = time.monotonic()
        for start in range(0, len(body), 100_000):
            time.sleep(CLIENT_TIMEOUT * 0.6)
            connection.sendall(body[start : start + 100_000])
        assert time.monotonic() - began > CLIENT_TIMEOUT
        status, _, content = split(read_to_end(connection))
    assert status == 200, content
    assert json.loads(content) == {"length": len(body), "sha256": hashlib.sha256(body).hexdigest()}


def test_an_upstream_that_is_gone_is_answered_with_502(
    served: tuple[str, str, str], tmp_path: Path
) -> None:
    upstream = free_port()
    with nginx(tmp_path / "nginx", upstream) as proxy:
        with serve(tmp_path, upstream, **gunicorn_environment(served[0])):
            assert proxy.request("GET", "/healthz")[0] == 200
        # gunicorn stopped: refused connections, the one nginx kept alive closed.
        for _ in range(2):
            headers = assert_proxy_error(proxy.request("GET", "/healthz"), 502, "Bad gateway")
            assert headers["retry-after"] == "2"
        answer = proxy.request("GET", "/healthz", {"X-Request-ID": "when-down"})
        assert answer[1]["x-request-id"] == "when-down"


def test_an_answer_later_than_the_read_timeout_is_answered_with_504(proxy: Proxy) -> None:
    began = time.monotonic()
    answer = proxy.request("GET", f"/slow?seconds={READ_TIMEOUT + 2}")
    assert_proxy_error(answer, 504, "Gateway timeout")
    assert time.monotonic() - began < READ_TIMEOUT + 1.5
    assert proxy.request("GET", "/slow?seconds=0.1")[0] == 200  # within it: answered


def test_plain_http_is_redirected_to_https_but_healthz(proxy: Proxy) -> None:
    client = http.client.HTTPConnection("127.0.0.1", proxy.http_port, timeout=15)
    try:
        client.request("POST", "/api/v2/organizations?limit=5", body=b"{}")
        answer = client.getresponse()
        answer.read()
        assert answer.status == 308  # the method and body kept, unlike 301's
        location = f"https://127.0.0.1:{proxy.https_port}/api/v2/organizations?limit=5"
        assert answer.getheader("Location") == location
        client.request("GET", "/healthz")
        answer = client.getresponse()
        assert (answer.status, json.loads(answer.read())) == (200, {"status": "ok"})
    finally:
        client.close()
