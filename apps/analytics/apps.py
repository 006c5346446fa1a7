from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "apps.analytics"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from apps.analytics.rollup import forget_organization
        from apps.organizations.models import Organization

        post_delete.connect(forget_organization, sender=Organization)
