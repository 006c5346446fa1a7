from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.keys.services import api_key_create
from apps.organizations.models import Organization
from hyperrep.api.dates import parse_instant


class Command(BaseCommand):
    help = "Create an API key for one or more organizations and print it (the only time it exists)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--organization",
            action="append",
            required=True,
            metavar="ORG_ID",
            help="organization_id the key reaches; repeat for several",
        )
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--expires-at", metavar="ISO8601", help="a past time makes an expired key"
        )
        parser.add_argument("--read-only", action="store_true", help="403 on every POST")

    def handle(self, *args: Any, **options: Any) -> None:
        wanted = set(options["organization"])
        organizations = list(Organization.objects.filter(public_id__in=wanted))
        missing = wanted - {organization.public_id for organization in organizations}
        if missing:
            raise CommandError(f"No such organization: {', '.join(sorted(missing))}")
        expires_at = None
        if options["expires_at"]:
            try:
                expires_at = parse_instant(options["expires_at"])
            except ValueError as error:
                raise CommandError(f"--expires-at: {error}") from None
        _key, plaintext = api_key_create(
            organizations=organizations,
            name=options["name"],
            expires_at=expires_at,
            read_only=options["read_only"],
        )
        self.stdout.write(plaintext)
