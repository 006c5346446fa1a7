import sys
from contextlib import ExitStack
from typing import IO, Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.transfer.importer import KINDS, ImportFailed, import_lines

PLURALS = {kind: f"{kind}s" for kind in KINDS} | {"company": "companies"}


class Command(BaseCommand):
    help = (
        "Import a JSON Lines file (the format of export_data) in one transaction: a bad line "
        "rejects the whole file and nothing is written."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", metavar="FILE", help="the file, or - for standard input")

    def handle(self, *args: Any, file: str, **options: Any) -> None:
        with ExitStack() as stack:
            stream: IO[bytes]
            if file == "-":
                stream = sys.stdin.buffer
            else:
                try:
                    stream = stack.enter_context(open(file, "rb"))
                except OSError as error:
                    raise CommandError(f"{file}: {error.strerror}") from None
            try:
                counts = import_lines(stream)
            except ImportFailed as failed:
                raise CommandError(str(failed)) from None
        total = sum(counts.values())
        parts = ", ".join(
            f"{counts[kind]} {kind if counts[kind] == 1 else PLURALS[kind]}"
            for kind in KINDS
            if counts[kind]
        )
        self.stdout.write(f"Imported {total} lines" + (f": {parts}" if parts else ""))
