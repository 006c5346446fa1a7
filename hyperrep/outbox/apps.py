from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "hyperrep.outbox"
    label = "outbox"

    def ready(self) -> None:
        from hyperrep import connections, metrics

        # Every process that loads the apps (web, worker, commands) counts its queries, and
        # checks the health only of connections that sat idle.
        metrics.install()
        connections.install()
