from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.demo.seed import seed_demo
from apps.keys.services import KeyRejected, api_key_authenticate


class Command(BaseCommand):
    help = (
        "Create a demo organization with agents, companies and contacts, and print its API "
        "key alone on the last line."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="Acme Roofing (demo)")
        parser.add_argument("--agents", type=int, default=5)
        parser.add_argument("--companies", type=int, default=20)
        parser.add_argument("--contacts", type=int, default=200)
        parser.add_argument("--seed", type=int, default=7, help="random seed (same data each time)")
        parser.add_argument(
            "--key-file",
            type=Path,
            help=(
                "seed once: if this file holds a key that still works for an active "
                "organization, print it and seed nothing; otherwise seed and write the key here"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        key_file: Path | None = options["key_file"]
        if key_file is not None and key_file.exists():
            plaintext = key_file.read_text().strip()
            try:
                key = api_key_authenticate(plaintext)
            except KeyRejected:
                pass
            else:
                if key.organizations.filter(is_active=True).exists():
                    self.stdout.write(plaintext)
                    return
        organization, plaintext = seed_demo(
            name=options["name"],
            agents=options["agents"],
            companies=options["companies"],
            contacts=options["contacts"],
            seed=options["seed"],
        )
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(plaintext + "\n")
        self.stdout.write(f"Seeded {organization.name} ({organization.public_id})")
        self.stdout.write(plaintext)
