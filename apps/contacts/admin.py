from django.contrib import admin

from apps.contacts.models import Contact
from apps.webhooks.admin import EmitsCreated
from hyperrep.custom_fields import check_custom_fields
from hyperrep.tenancy.admin import TenantAdmin


@admin.register(Contact)
class ContactAdmin(EmitsCreated, TenantAdmin):
    created_event = "contact.created"
    json_checks = {"custom_fields": check_custom_fields}
    list_display = (
        "__str__",
        "email",
        "phone_number",
        "organization_name",
        "public_id",
        "created_at",
    )
    search_fields = ("name", "email", "phone_number", "public_id__exact")
    phone_search = "phone_e164"
    ordering = ("-created_at", "-id")
