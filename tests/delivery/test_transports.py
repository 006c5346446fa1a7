"""Transport URLs: what each scheme means, what is refused (and why), and how it is shown."""

import pytest

from apps.delivery import transports
from apps.delivery.transports.console import ConsoleTransport
from apps.delivery.transports.esp import AnymailTransport
from apps.delivery.transports.smtp import SMTPTransport
from apps.delivery.transports.twilio import TwilioTransport
from hyperrep.errors import ValidationFailed


def test_smtp_urls() -> None:
    starttls = transports.parse("smtp://me%40acme.example:p%3Ass@mail.example", kind="email")
    assert isinstance(starttls, SMTPTransport)
    backend = starttls.backend
    assert (backend.host, backend.port, backend.use_tls, backend.use_ssl) == (
        "mail.example",
        587,
        True,
        False,
    )
    assert (backend.username, backend.password) == ("me@acme.example", "p:ss")
    implicit = transports.parse("smtps://u:p@mail.example", kind="email").backend
    assert (implicit.port, implicit.use_tls, implicit.use_ssl) == (465, False, True)
    plain = transports.parse("smtp://relay.internal:2525?security=none", kind="email").backend
    assert (plain.port, plain.use_tls, plain.use_ssl) == (2525, False, False)


def test_esp_twilio_and_console_urls() -> None:
    esp = transports.parse("anymail+mailgun://key-1@?sender_domain=mg.acme.example", kind="email")
    assert isinstance(esp, AnymailTransport)
    assert esp.backend == "anymail.backends.mailgun.EmailBackend"
    assert esp.options["api_key"] == "key-1"
    assert esp.options["sender_domain"] == "mg.acme.example"
    mailjet = transports.parse("anymail+mailjet://key:secret@", kind="email")
    assert (mailjet.options["api_key"], mailjet.options["secret_key"]) == ("key", "secret")
    twilio = transports.parse("twilio://AC1:tok@api.twilio.com", kind="text")
    assert isinstance(twilio, TwilioTransport)
    assert twilio.url == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    double = transports.parse("twilio+http://AC1:tok@127.0.0.1:8089", kind="text")
    assert double.url.startswith("http://127.0.0.1:8089/")
    assert isinstance(transports.parse("console://", kind="text"), ConsoleTransport)


@pytest.mark.parametrize(
    ("url", "kind", "reason"),
    [
        ("smtp://", "email", "an SMTP transport needs a host"),
        ("smtp://h:99999", "email", "cannot be parsed"),
        ("smtp://h?security=maybe", "email", "security must be starttls or none"),
        ("smtp://h?timeout=3", "email", "unknown SMTP setting 'timeout'"),
        ("anymail+nope://k@", "email", "unknown ESP 'nope'"),
        ("anymail+postmark://@", "email", "takes its credential as SERVER_TOKEN@"),
        ("anymail+mailjet://key@", "email", "takes its credential as API_KEY:SECRET_KEY@"),
        ("twilio://api.twilio.com", "text", "takes ACCOUNT_SID:AUTH_TOKEN@host"),
        ("twilio+http://a:b@sms.example", "text", "for a test double on loopback only"),
        ("twilio://a:b@api.twilio.com", "email", "an email channel sends through"),
        ("smtp://h", "text", "a text channel sends through"),
        ("console://", "form", ""),
        ("smtp://h", "form", "a form channel sends nothing"),
    ],
)
def test_a_url_that_cannot_be_used_is_refused_with_the_reason(
    url: str, kind: str, reason: str
) -> None:
    if kind == "form" and url == "console://":
        assert isinstance(transports.parse(url, kind=kind), ConsoleTransport)
        return
    with pytest.raises(ValidationFailed) as refused:
        transports.parse(url, kind=kind)
    assert refused.value.field == "transport"
    assert reason in refused.value.message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://user:pass@mail.example:587", "smtp://user:•••@mail.example:587"),
        (
            "anymail+postmark://token@?message_stream=outbound",
            "anymail+postmark://•••@?message_stream=outbound",
        ),
        ("twilio://AC1:tok@api.twilio.com", "twilio://AC1:•••@api.twilio.com"),
        ("smtp://relay:25?security=none", "smtp://relay:25?security=none"),
        ("console://", "console://"),
        # A password with / ? # left as they are is still the password, and hidden.
        ("smtp://sales:9999/top?se#cret@mail.example:587", "smtp://sales:•••@mail.example:587"),
        (
            "anymail+mailgun://key@?sender_domain=mg.acme.example&webhook_signing_key=whsk",
            "anymail+mailgun://•••@?sender_domain=mg.acme.example&webhook_signing_key=•••",
        ),
        ("console://AC1:tok@", "console://AC1:•••@"),
    ],
)
def test_secrets_never_show(url: str, shown: str) -> None:
    assert transports.redact(url) == shown


def test_a_password_need_not_be_percent_encoded() -> None:
    smtp = transports.parse("smtp://sales:9999/top?se#cret@mail.example:587", kind="email")
    assert (smtp.backend.username, smtp.backend.password) == ("sales", "9999/top?se#cret")
    assert (smtp.backend.host, smtp.backend.port) == ("mail.example", 587)


def test_a_refusal_repeats_no_secret() -> None:
    with pytest.raises(ValidationFailed) as refused:
        transports.parse("smtp://sales@mail.example:hunter2", kind="email")
    assert "hunter2" not in refused.value.message
