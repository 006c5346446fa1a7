"""`anymail+<esp>://<credential>@?<settings>`: an email service provider's API, through
django-anymail (Postmark, Mailgun, SendGrid, Mailjet, Brevo, Resend, MailerSend, SparkPost,
Mandrill, Postal, …). The credential is the ESP's key; the query names its other settings as
anymail does (`sender_domain`, `api_url`, …)."""

from typing import Any

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.core.mail import EmailMultiAlternatives, get_connection

from apps.delivery.transports.base import CONNECT_TIMEOUT, READ_TIMEOUT, Permanent, Transient

# The setting each ESP's credential goes to (two, where the ESP has a key and a secret).
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "brevo": ("api_key",),
    "mailersend": ("api_token",),
    "mailgun": ("api_key",),
    "mailjet": ("api_key", "secret_key"),
    "mailtrap": ("api_token",),
    "mandrill": ("api_key",),
    "postal": ("api_key",),
    "postmark": ("server_token",),
    "resend": ("api_key",),
    "scaleway": ("secret_key",),
    "sendgrid": ("api_key",),
    "sendinblue": ("api_key",),
    "sparkpost": ("api_key",),
    "unisender_go": ("api_key",),
}


class AnymailTransport:
    """One anymail backend (and its HTTP session) for the emails of a batch."""

    def __init__(self, *, esp: str, options: dict[str, Any]) -> None:
        self.backend = f"anymail.backends.{esp}.EmailBackend"
        self.options = {**options, "requests_timeout": (CONNECT_TIMEOUT, READ_TIMEOUT)}
        self.connection: Any = None

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def send_email(self, message: EmailMultiAlternatives) -> str | None:
        try:
            if self.connection is None:
                self.connection = get_connection(self.backend, fail_silently=False, **self.options)
                self.connection.open()
            self.connection.send_messages([message])
        except AnymailRecipientsRefused as refused:
            raise Permanent(f"recipients refused: {refused}") from None
        except AnymailAPIError as error:
            status = error.status_code
            if status is None or status == 429 or status >= 500:  # no answer, busy, broken
                raise Transient(f"{type(error).__name__}: {error}") from None
            raise Permanent(f"HTTP {status}: {error}") from None
        except AnymailError as error:  # a setting the ESP needs is missing
            raise Permanent(str(error)) from None
        status = getattr(message, "anymail_status", None)
        return getattr(status, "message_id", None)
