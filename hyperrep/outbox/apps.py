from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "hyperrep.outbox"
    label = "outbox"

    def ready(self) -> None:
        from hyperrep import metrics

        # Every process that loads the apps (web, worker, commands) counts its queries.
        metrics.install()
