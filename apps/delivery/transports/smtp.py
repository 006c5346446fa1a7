"""`smtp://` (STARTTLS, port 587), `smtps://` (implicit TLS, port 465), and
`smtp://host:25?security=none`: any SMTP server, through Django's SMTP backend with the
channel's own settings (never the global EMAIL_*).

The server may refuse the message, or some of its recipients. A refusal of the `To`
recipient fails the attempt (for now with 4xx, for good with 5xx); a refused Cc or Bcc
recipient alone is logged, and the email counts as delivered."""

import logging
import smtplib
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend
from django.core.mail.message import sanitize_address

from apps.delivery.transports.base import READ_TIMEOUT, Permanent, Transient

log = logging.getLogger("hyperrep.delivery")


class RefusalsKeptBackend(EmailBackend):
    """Django's SMTP backend, keeping what `sendmail` answers: it raises only when every
    recipient is refused, and returns the others' refusals, which Django drops."""

    refused: dict[str, tuple[int, bytes]]

    def _send(self, email_message: Any) -> bool:
        encoding = email_message.encoding or settings.DEFAULT_CHARSET
        from_email = sanitize_address(email_message.from_email, encoding)
        recipients = [sanitize_address(a, encoding) for a in email_message.recipients()]
        message = email_message.message().as_bytes(linesep="\r\n")
        assert self.connection is not None  # send_messages opened it
        self.refused = self.connection.sendmail(from_email, recipients, message)
        return True


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else reply


def _fails(code: int, what: str) -> Exception:
    return (Transient if 400 <= code < 500 else Permanent)(f"SMTP {code}: {what}")


class SMTPTransport:
    """One connection for the emails of a batch: opened by the first, closed by `close` or
    by an error (the next email opens a new one)."""

    def __init__(
        self, *, host: str, port: int, username: str, password: str, security: str
    ) -> None:
        # The timeout bounds connecting and every command.
        self.backend = RefusalsKeptBackend(
            host=host,
            port=port,
            username=username,
            password=password,
            use_tls=security == "starttls",
            use_ssl=security == "ssl",
            timeout=READ_TIMEOUT,
            fail_silently=False,
        )

    def close(self) -> None:
        try:
            self.backend.close()  # which forgets the connection, whatever QUIT answers
        except (smtplib.SMTPException, OSError):
            log.debug("SMTP: QUIT on a broken connection", exc_info=True)

    def send_email(self, message: EmailMultiAlternatives) -> str | None:
        try:
            self.backend.open()  # unless open already: then send_messages leaves it open
            self.backend.send_messages([message])
        except smtplib.SMTPRecipientsRefused as refused:  # every recipient
            self.close()
            code, reason = next(iter(refused.recipients.values()))
            raise _fails(code, f"recipients refused: {_text(reason)}") from None
        except smtplib.SMTPResponseException as error:  # the sender, the data, the login, ...
            self.close()
            raise _fails(error.smtp_code, _text(error.smtp_error)) from None
        except smtplib.SMTPNotSupportedError as error:
            self.close()
            raise Permanent(f"SMTP: {error}") from None
        except (smtplib.SMTPException, OSError) as error:  # refused, timed out, dropped
            self.close()
            raise Transient(f"SMTP: {type(error).__name__}: {error}") from None
        to = {parseaddr(address)[1].lower() for address in message.to}
        for address, (code, reason) in self.backend.refused.items():
            text = _text(reason)
            if parseaddr(address)[1].lower() in to:
                raise _fails(code, f"{address} refused: {text}")
            log.warning(
                "SMTP %s: copy to %s refused (%s); delivered to the others", code, address, text
            )
        return None
