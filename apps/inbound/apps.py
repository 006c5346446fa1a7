from django.apps import AppConfig


class InboundConfig(AppConfig):
    name = "apps.inbound"

    def ready(self) -> None:
        from apps.inbound.handlers import InboundProcessing, prune
        from hyperrep.outbox.worker import every, register

        register(InboundProcessing())
        every(3600, prune)
