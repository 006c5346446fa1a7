from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "apps.webhooks"

    def ready(self) -> None:
        from apps.webhooks import rendering
        from apps.webhooks.handlers import WebhookDelivery
        from hyperrep.outbox.worker import register

        register(WebhookDelivery())
        rendering.register()
