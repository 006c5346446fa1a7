"""The admin site: a business owner's view of organizations, keys, channels and
conversations. Its look (the header, and "View site" going to the API reference), and the
form fields the model admins share. Login attempts have a budget per client address
(ADMIN_LOGIN_RATE_LIMIT, hyperrep/ratelimit.py)."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig
from django.http import HttpRequest, HttpResponse

from hyperrep import ratelimit
from hyperrep.errors import ValidationFailed


class AdminSite(admin.AdminSite):
    site_header = "HyperRep server"
    site_title = "HyperRep server"
    index_title = "Organizations, API keys, channels and conversations"
    site_url = "/api/docs"  # "View site": the API reference, the one page a key opens
    # The lists need the width (a sale's status and dates were cut off at 1400 px); the
    # sidebar only repeats the index page.
    enable_nav_sidebar = False

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if request.method == "POST":  # an attempt; showing the form costs nothing
            address = request.META.get("REMOTE_ADDR", "")
            budget = ratelimit.hit("admin-login", address, settings.ADMIN_LOGIN_RATE_LIMIT)
            if budget is not None and not budget.allowed:
                refused = HttpResponse(
                    "Too many login attempts from this address. Try again later.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                refused["Retry-After"] = str(budget.reset)
                return refused
        return super().login(request, extra_context)


class AdminConfig(DjangoAdminConfig):
    default_site = "hyperrep.admin.AdminSite"


class CheckedJSONField(forms.JSONField):
    """JSON edited as text, checked by the same rule the API and the import apply (`check`
    answers the value to store, or raises ValidationFailed with the reason), shown indented.
    An empty box is an empty object."""

    def __init__(self, check: Callable[[Any], Any], **kwargs: Any) -> None:
        self.check = check
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 8, "class": "vLargeTextField"}))
        kwargs["required"] = False
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value  # what was typed, shown again with its error
        return json.dumps(value, ensure_ascii=False, indent=2)

    def clean(self, value: Any) -> Any:
        parsed = super().clean(value)
        try:
            return self.check({} if parsed is None else parsed)
        except ValidationFailed as invalid:
            raise forms.ValidationError(invalid.message) from None


def duration(microseconds: int | None) -> str:
    """`13263000000` -> `3 h 41 min 3 s`: a duration as people read one."""
    if microseconds is None:
        return "-"
    total = timedelta(microseconds=microseconds)
    days, rest = divmod(int(total.total_seconds()), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")]
    shown = [f"{amount} {unit}" for amount, unit in parts if amount]
    return " ".join(shown) or "0 s"
