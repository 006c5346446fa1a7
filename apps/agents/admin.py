from django.contrib import admin

from apps.agents.models import Agent
from hyperrep.tenancy.admin import TenantAdmin


@admin.register(Agent)
class AgentAdmin(TenantAdmin):
    list_display = ("name", "email", "organization_name", "public_id")
    search_fields = ("name", "email", "public_id__exact")
    ordering = ("name", "id")
