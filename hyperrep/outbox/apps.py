from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "hyperrep.outbox"
    label = "outbox"
