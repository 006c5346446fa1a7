from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from apps.keys.models import ApiKey
from apps.keys.services import api_key_issue_secret


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "is_active", "read_only", "expires_at", "last_used_at")
    list_filter = ("is_active", "read_only", "organizations")
    search_fields = ("name", "prefix")
    filter_horizontal = ("organizations",)
    readonly_fields = ("prefix", "last_used_at", "created_at")
    fields = (
        "name",
        "organizations",
        "read_only",
        "expires_at",
        "is_active",
        "prefix",
        "last_used_at",
        "created_at",
    )
    actions = ("deactivate",)

    @admin.action(description="Deactivate selected keys")
    def deactivate(self, request: HttpRequest, queryset: Any) -> None:
        queryset.update(is_active=False)

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            # The plaintext lives only on this request, until response_add shows it once.
            request._api_key_plaintext = api_key_issue_secret(obj)  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Rendered directly, not through a redirect and a message: the plaintext is never
        # stored, not even in a session or a cookie.
        return TemplateResponse(
            request,
            "admin/keys/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "key": obj,
                "plaintext": request._api_key_plaintext,  # type: ignore[attr-defined]
                "title": "API key created",
            },
        )
