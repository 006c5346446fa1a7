"""`manage.py ingest_email --channel <token>`: one raw email on standard input, as an MTA's
pipe delivers it (docs/inbound.md has a Postfix example). The exit status tells the MTA what
became of it, by the sysexits it knows: 0 stored (or stored already), 65 (EX_DATAERR) not
an email, refused for good, 67 (EX_NOUSER) no enabled email channel has this token, 75
(EX_TEMPFAIL) the database could not take it now, so the MTA keeps it and tries again."""

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import DatabaseError

from apps.inbound.email import check_email
from apps.inbound.events import (
    Arrival,
    Unparseable,
    channel_for,
    digest_id,
    event_refuse,
    event_store,
)
from apps.inbound.models import Source
from apps.organizations.models import ChannelKind

EX_DATAERR, EX_NOUSER, EX_TEMPFAIL = 65, 67, 75


class Command(BaseCommand):
    help = "Store one raw RFC 5322 email read from standard input (an MTA's pipe)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--channel", required=True, metavar="TOKEN", help="inbound token")

    def handle(self, *args: Any, **options: Any) -> None:
        raw = sys.stdin.buffer.read()
        try:
            channel = channel_for(options["channel"], ChannelKind.EMAIL)
            if channel is None:
                self.stderr.write("no enabled email channel has this inbound token")
                sys.exit(EX_NOUSER)
            arrival = Arrival(
                channel=channel,
                source=Source.EMAIL,
                body=raw,
                content_type="message/rfc822",
                headers={"Via": "ingest_email"},
            )
            try:
                message_id = check_email(raw)
            except Unparseable as refusal:
                event_refuse(arrival, refusal.detail)
                self.stderr.write(f"refused: {refusal.detail}")
                sys.exit(EX_DATAERR)
            stored = event_store(arrival, provider_message_id=message_id or digest_id(raw))
        except DatabaseError as error:
            self.stderr.write(f"cannot store it now: {error}")
            sys.exit(EX_TEMPFAIL)
        self.stdout.write("stored" if stored is not None else "stored already (a duplicate)")
