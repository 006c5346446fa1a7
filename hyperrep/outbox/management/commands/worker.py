from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from hyperrep import metrics
from hyperrep.migration_state import DatabaseFromNewerRelease, refuse_a_newer_database
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
        parser.add_argument(
            "--metrics-port",
            type=int,
            help="serve this worker's Prometheus metrics at http://HOST:PORT/metrics "
            "(docs/metrics.md); default: not served",
        )
        parser.add_argument(
            "--metrics-host",
            default="127.0.0.1",
            help="the address the metrics are served on (default %(default)s; METRICS_TOKEN "
            "is required, or the client must be on loopback)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            refuse_a_newer_database(connection)
        except DatabaseFromNewerRelease as refusal:
            raise CommandError(str(refusal)) from None
        server = None
        if options["metrics_port"] is not None:
            server = metrics.serve(options["metrics_host"], options["metrics_port"])
        try:
            Worker(batch=options["batch"]).run(until_idle=options["until_idle"])
        finally:
            if server is not None:
                server.shutdown()
                server.server_close()
