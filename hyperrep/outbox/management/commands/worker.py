from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from hyperrep.outbox.worker import Worker


class Command(BaseCommand):
    help = (
        "Carry out what the outbox holds (deliver scheduled drafts) until stopped (SIGTERM or "
        "SIGINT: the row in hand is finished, the others given back). Any number may run "
        "against PostgreSQL."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--until-idle", action="store_true", help="return once nothing is due")
        parser.add_argument(
            "--batch", type=int, default=20, help="rows claimed at a time (default %(default)s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        Worker(batch=options["batch"]).run(until_idle=options["until_idle"])
