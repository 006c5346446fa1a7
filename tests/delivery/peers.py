"""Real protocol peers on loopback, for delivery's tests: an SMTP server (aiosmtpd) that
keeps what it receives and refuses what it is told to, and an HTTP server that answers as a
provider's API does (Twilio's Messages API, Postmark's send API)."""

import base64
import json
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller

from tests.helpers import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SMTPHandler:
    """aiosmtpd's handler: keeps each message; `refuse_rcpt` maps an address to the reply
    its RCPT gets, and `data_replies` are the replies to the next DATA commands. `greetings`
    counts the EHLOs: a client's connections."""

    received: list[Received] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)
    greetings: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.greetings += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse_rcpt:
            return self.refuse_rcpt[address.lower()]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SMTPServer:
    def __init__(self) -> None:
        self.handler = SMTPHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?security=none"

    def __enter__(self) -> "SMTPServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


@dataclass
class Call:
    path: str
    authorization: tuple[str, str] | None
    form: dict[str, str]
    body: Any


class HTTPDouble:
    """An API double: each POST is kept, and answered by `answer(call)` -> (status, body);
    by default 201 with a fresh id."""

    def __init__(self, answer: Callable[[Call], tuple[int, Any]] | None = None) -> None:
        self.calls: list[Call] = []
        self.answers: list[tuple[int, Any]] = []  # answered first, in order
        self.answer = answer or (lambda call: (201, {"sid": "SM" + secrets.token_hex(16)}))
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                auth = self.headers.get("Authorization", "")
                user = None
                if auth.startswith("Basic "):
                    name, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                    user = (name, secret)
                text = raw.decode()
                form = {k: v[0] for k, v in parse_qs(text).items()} if "=" in text else {}
                try:
                    body = json.loads(text)
                except ValueError:
                    body = None
                call = Call(self.path, user, form, body)
                double.calls.append(call)
                status, answer = double.answers.pop(0) if double.answers else double.answer(call)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "HTTPDouble":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def smtp_server() -> Iterator[SMTPServer]:
    with SMTPServer() as server:
        yield server
