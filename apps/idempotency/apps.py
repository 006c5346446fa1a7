from django.apps import AppConfig


class IdempotencyConfig(AppConfig):
    name = "apps.idempotency"

    def ready(self) -> None:
        from apps.idempotency.services import prune
        from hyperrep.outbox.worker import every

        every(3600, prune)
