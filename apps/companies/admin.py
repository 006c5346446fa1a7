from django.contrib import admin

from apps.companies.models import Company
from apps.webhooks.admin import EmitsCreated
from hyperrep.custom_fields import check_custom_fields
from hyperrep.tenancy.admin import TenantAdmin


@admin.register(Company)
class CompanyAdmin(EmitsCreated, TenantAdmin):
    created_event = "company.created"
    json_checks = {"custom_fields": check_custom_fields}
    list_display = ("name", "domain", "organization_name", "public_id", "created_at")
    search_fields = ("name", "domain", "public_id__exact")
    ordering = ("-created_at", "-id")
