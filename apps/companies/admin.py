from django.contrib import admin

from apps.companies.models import Company
from hyperrep.tenancy.admin import TenantAdmin


@admin.register(Company)
class CompanyAdmin(TenantAdmin):
    list_display = ("name", "domain", "organization", "public_id", "created_at")
    search_fields = ("name", "domain", "public_id")
