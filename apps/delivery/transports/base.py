"""What every transport takes and answers."""

from dataclasses import dataclass
from typing import Protocol

from django.core.mail import EmailMultiAlternatives

from hyperrep.outbox.claims import Permanent, Transient

__all__ = ["EmailTransport", "Permanent", "Text", "TextTransport", "Transient"]

# Every network call of a transport is bounded: connecting, and each read.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class Text:
    """A text message, numbers in E.164."""

    sender: str
    to: str
    body: str
    status_callback: str | None = None


class EmailTransport(Protocol):
    """Made for one batch of the worker, whose emails it may send over one connection;
    `close` ends it."""

    def close(self) -> None: ...

    def send_email(self, message: EmailMultiAlternatives) -> str | None:
        """Hand the email over; the provider's id of it when it gives one. Raises Transient
        or Permanent."""


class TextTransport(Protocol):
    """Made for one batch of the worker, as EmailTransport."""

    def close(self) -> None: ...

    def send_text(self, text: Text) -> str | None:
        """Hand the text over; the provider's id of it. Raises Transient or Permanent."""
