from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.organizations.services import organization_create


class Command(BaseCommand):
    help = "Create an organization and print its organization_id."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        name = name.strip()
        if not name or len(name) > 255:
            raise CommandError("NAME must be 1 to 255 characters")
        self.stdout.write(organization_create(name=name).public_id)
