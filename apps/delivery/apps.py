from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    name = "apps.delivery"

    def ready(self) -> None:
        from apps.delivery.handlers import DraftDelivery
        from apps.drafts.models import MessageDraft, ResponseDraft
        from hyperrep.outbox.worker import register

        register(DraftDelivery(MessageDraft))
        register(DraftDelivery(ResponseDraft))
