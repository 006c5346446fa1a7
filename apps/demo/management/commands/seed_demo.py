import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.demo.seed import Size, seed_demo
from apps.inbound.text import auth_token
from apps.keys.services import KeyRejected, api_key_authenticate
from apps.organizations.models import Channel, ChannelKind, Organization


class Command(BaseCommand):
    help = (
        "Create a demo organization (agents, companies, contacts, conversations with messages "
        "of every modality, sales) and print its API key alone on the last line. "
        "--messages scales it for benchmarks; the other counts follow unless given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", default="Acme Roofing (demo)")
        parser.add_argument(
            "--messages",
            type=int,
            default=2000,
            help="exactly this many messages (default %(default)s; ~7 per conversation)",
        )
        parser.add_argument("--agents", type=int, help="default: 5, more past 100,000 messages")
        parser.add_argument("--companies", type=int, help="default: one per 100 messages")
        parser.add_argument("--contacts", type=int, help="default: one per 10 messages")
        parser.add_argument("--sales", type=int, help="default: one per 50 messages")
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
                key, _ = api_key_authenticate(plaintext)
            except KeyRejected:
                pass
            else:
                organization = key.organizations.filter(is_active=True).first()
                if organization is not None:
                    self.stdout.write(f"{organization.name} ({organization.public_id}) is seeded")
                    self.inbound(organization)
                    self.stdout.write(plaintext)
                    return
        counts = {
            name: options[name] for name in ("messages", "agents", "companies", "contacts", "sales")
        }
        for name, value in counts.items():
            if value is not None and value < 0:
                raise CommandError(f"--{name} cannot be negative")
        if counts["messages"] and counts["contacts"] == 0:
            raise CommandError("--messages needs at least one contact")
        started = time.monotonic()
        organization, plaintext = seed_demo(
            name=options["name"],
            size=Size.for_messages(**counts),
            seed=options["seed"],
            progress=self.stderr.write if options["verbosity"] >= 1 else None,
        )
        if key_file is not None:
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.touch(mode=0o600)
            key_file.write_text(plaintext + "\n")
        self.stdout.write(
            f"Seeded {organization.name} ({organization.public_id}): {counts['messages']:,} "
            f"messages in {time.monotonic() - started:.1f} s"
        )
        self.inbound(organization)
        self.stdout.write(plaintext)

    def inbound(self, organization: Organization) -> None:
        """Where the organization's channels receive (and the text channel's auth token, to
        sign a webhook with as Twilio would)."""
        for channel in Channel.objects.for_org(organization).filter(enabled=True).order_by("kind"):
            line = f"inbound {channel.kind}: /inbound/{channel.kind}/{channel.inbound_token}"
            token = auth_token(channel) if channel.kind == ChannelKind.TEXT else None
            self.stdout.write(line + (f" (Twilio auth token {token})" if token else ""))
