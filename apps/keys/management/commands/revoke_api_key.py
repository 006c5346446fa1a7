from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.keys.models import ApiKey
from apps.keys.services import api_key_revoke


class Command(BaseCommand):
    help = "Deactivate an API key at once, given the key or its hrk_<prefix>."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key_or_prefix")

    def handle(self, *args: Any, key_or_prefix: str, **options: Any) -> None:
        try:
            key = api_key_revoke(key_or_prefix=key_or_prefix.strip())
        except ApiKey.DoesNotExist as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Revoked {key}")
