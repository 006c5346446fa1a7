from contextlib import ExitStack
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.organizations.models import Organization
from apps.transfer.exporter import export_lines


class Command(BaseCommand):
    help = "Write one organization as JSON Lines, in the format and order import_data reads."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, metavar="ORG_ID")
        parser.add_argument(
            "-o", "--output", default="-", metavar="FILE", help="the file; - (default) for stdout"
        )

    def handle(self, *args: Any, organization: str, output: str, **options: Any) -> None:
        found = Organization.objects.filter(public_id=organization).first()
        if found is None:
            raise CommandError(f"No such organization: {organization}")
        with ExitStack() as stack:
            if output == "-":
                # The real stdout takes UTF-8 bytes whatever the locale's encoding; a text
                # stream given to call_command (tests) takes the text.
                binary: IO[bytes] | None = getattr(self.stdout, "buffer", None)
            else:
                try:
                    binary = stack.enter_context(open(output, "wb"))
                except OSError as error:
                    raise CommandError(f"{output}: {error.strerror}") from None
            for line in export_lines(found):
                if binary is not None:
                    binary.write(line.encode() + b"\n")
                else:
                    self.stdout.write(line + "\n", ending="")
            if binary is not None:
                binary.flush()
