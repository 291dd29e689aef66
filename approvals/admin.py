from django.contrib import admin

from approvals.models import Action, NotificationPreference


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    """Read-only: actions change only through decisions, which the inbox records and audits."""

    list_display = ["summary", "action_type", "agent", "status", "created_at"]
    list_filter = ["status", "action_type"]
    search_fields = ["summary", "session_id"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "delivery", "last_digest_at"]
    list_filter = ["delivery"]
