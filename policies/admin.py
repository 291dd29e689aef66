from django.contrib import admin
from django.db import models
from guardian.admin import GuardedModelAdmin

from policies.models import ActionType, Agent, AgentToken, EscalationTier


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


class EscalationTierInline(admin.TabularInline):
    """Escalation tiers, edited on their action type (attach with `inlines = [EscalationTierInline]`)."""

    model = EscalationTier
    fields = ["position", "group", "emails", "webhook_url", "duration"]
    extra = 0
    ordering = ["position"]
    # A webhook URL typed without a scheme is https (Django 6's default, opted into now).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


# Self-contained so that it survives a rewrite of ActionTypeAdmin above.
ActionTypeAdmin.inlines = [*ActionTypeAdmin.inlines, EscalationTierInline]
