from typing import Any

from cryptography.fernet import InvalidToken
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html_join

from apps.keys.models import ApiKey
from apps.keys.services import api_key_issue_secret
from hyperrep.crypto import fernet

# The session entry that holds a new key's plaintext, encrypted, until its page shows it.
PLAINTEXT_SESSION_KEY = "hyperrep.new_api_key"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("__str__", "reaches", "is_active", "read_only", "expires_at", "last_used_at")
    list_filter = ("is_active", "read_only", "organizations")
    search_fields = ("name", "prefix", "organizations__name")
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

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiKey]:
        return super().get_queryset(request).prefetch_related("organizations")

    @admin.display(description="organizations it reaches")
    def reaches(self, key: ApiKey) -> str:
        return format_html_join(", ", "{}", ((o.name,) for o in key.organizations.all())) or "-"

    @admin.action(description="Deactivate selected keys")
    def deactivate(self, request: HttpRequest, queryset: Any) -> None:
        count = queryset.update(is_active=False)
        self.message_user(
            request, f"{count} key{'s' if count != 1 else ''} deactivated: they are refused now."
        )

    def get_urls(self) -> list[URLPattern]:
        created = path(
            "<int:key_id>/created/",
            self.admin_site.admin_view(self.created_view),
            name="keys_apikey_created",
        )
        return [created, *super().get_urls()]

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if not change:
            # The plaintext is kept, encrypted, in this admin's session until the next page
            # shows it once; the server keeps nothing else of it.
            plaintext = api_key_issue_secret(obj)
            sealed = fernet("admin.new-api-key").encrypt(plaintext.encode()).decode()
            request.session[PLAINTEXT_SESSION_KEY] = sealed
        super().save_model(request, obj, form, change)

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        # Post/redirect/get: reloading the page that shows the key must not mint another.
        return HttpResponseRedirect(reverse("admin:keys_apikey_created", args=[obj.pk]))

    def created_view(self, request: HttpRequest, key_id: int) -> HttpResponse:
        key = self.get_object(request, str(key_id))
        if key is None or not self.has_view_permission(request, key):
            return HttpResponseRedirect(reverse("admin:keys_apikey_changelist"))
        plaintext = None
        sealed = request.session.pop(PLAINTEXT_SESSION_KEY, None)
        if sealed is not None:
            try:
                plaintext = fernet("admin.new-api-key").decrypt(sealed.encode()).decode()
            except InvalidToken:  # SECRET_KEY changed since: nothing to show
                plaintext = None
        if plaintext is not None and plaintext.split("_")[1] != key.prefix:
            plaintext = None  # another key's: never shown on this one's page
        return TemplateResponse(  # admin_view: never cached
            request,
            "admin/keys/apikey/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "key": key,
                "plaintext": plaintext,
                "title": "API key created" if plaintext else "API key",
            },
        )
