from django.contrib import admin

from approvals.models import Action, NotificationPreference
from approvals.sampling import error_rate_for
from policies.admin import ActionTypeAdmin


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


@admin.display(description="Sampled error rate")
def sampling_recommendation(action_type):
    """The sample page's verdict, as a column on the action types' list."""
    rate = error_rate_for(action_type)
    if not rate.judged:
        return "No graded samples yet"
    low, high = rate.interval
    return f"{rate.rate:.1%} ({low:.1%}–{high:.1%}, {rate.judged} graded): {rate.recommendation}"


# Added from here so that policies/admin.py needs no import of approvals (policies comes first).
ActionTypeAdmin.list_display = [*ActionTypeAdmin.list_display, sampling_recommendation]


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(admin.ModelAdmin):
    list_display = ["user", "delivery", "last_digest_at"]
    list_filter = ["delivery"]
