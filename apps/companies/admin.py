from django.contrib import admin

from apps.companies.models import Company
from apps.organizations.admin import TenantAdmin


@admin.register(Company)
class CompanyAdmin(TenantAdmin):
    list_display = ("name", "domain", "organization", "public_id", "created_at")
    search_fields = ("name", "domain", "public_id")
    raw_id_fields = ("agent",)
