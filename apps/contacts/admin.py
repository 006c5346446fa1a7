from django.contrib import admin

from apps.contacts.models import Contact
from hyperrep.tenancy.admin import TenantAdmin


@admin.register(Contact)
class ContactAdmin(TenantAdmin):
    list_display = ("__str__", "email", "phone_number", "organization", "public_id", "created_at")
    search_fields = ("name", "email", "phone_number", "public_id")
