from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.organizations.models import ChannelKind, Organization
from apps.organizations.services import UNCHANGED, channel_configure
from hyperrep.errors import DomainError


class Command(BaseCommand):
    help = (
        "Create or update an organization's channel of a kind, and print its inbound token "
        "alone on the last line. Only the options given change; a transport URL that cannot be "
        "parsed is refused with the reason, and nothing is saved."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, metavar="ORG_ID")
        parser.add_argument("--kind", required=True, choices=ChannelKind.values)
        parser.add_argument(
            "--from", dest="sender", metavar="FROM", help='"Name <address>", or +15135550100'
        )
        parser.add_argument(
            "--transport",
            metavar="URL",
            help="smtp://…, smtps://…, anymail+<esp>://…, twilio://…, console:// (empty: none)",
        )
        parser.add_argument("--reply-domain", metavar="DOMAIN", help="email: reply+<token>@DOMAIN")
        parser.add_argument(
            "--allowed-origin",
            dest="allowed_origins",
            action="append",
            metavar="ORIGIN",
            help="form: a site that may post the form with fetch, https://acme.example "
            "(repeat for more; given once or more, the list is replaced; '' clears it)",
        )
        state = parser.add_mutually_exclusive_group()
        state.add_argument("--enable", dest="enabled", action="store_true", default=None)
        state.add_argument("--disable", dest="enabled", action="store_false")

    def handle(self, *args: Any, **options: Any) -> None:
        organization = Organization.objects.filter(public_id=options["organization"]).first()
        if organization is None:
            raise CommandError(f"No organization {options['organization']!r}")
        given = {
            name: UNCHANGED if options[name] is None else options[name]
            for name in ("sender", "transport", "reply_domain", "allowed_origins", "enabled")
        }
        if options["allowed_origins"] is not None:
            given["allowed_origins"] = [o for o in options["allowed_origins"] if o.strip()]
        try:
            channel = channel_configure(organization=organization, kind=options["kind"], **given)
        except DomainError as refused:
            raise CommandError(refused.detail) from None
        state = "enabled" if channel.enabled else "disabled"
        transport = channel.transport_shown or "no transport"
        origins = (
            f", origins {' '.join(channel.allowed_origins)}" if channel.allowed_origins else ""
        )
        self.stdout.write(
            f"{organization.name}: {channel.kind} channel, {state}, {transport}{origins}"
        )
        self.stdout.write(channel.inbound_token)
