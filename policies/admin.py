from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from policies.models import ActionType, Agent, AgentToken


@admin.register(ActionType)
class ActionTypeAdmin(GuardedModelAdmin):
    list_display = ["key", "name", "autonomy", "irreversible", "blast_radius", "status", "version"]
    list_filter = ["autonomy", "status", "irreversible", "blast_radius"]
    search_fields = ["key", "name"]


class AgentTokenInline(admin.TabularInline):
    model = AgentToken
    fields = ["prefix", "label", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at"]
    extra = 0
    can_delete = False


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at"]
    search_fields = ["name"]
    inlines = [AgentTokenInline]
