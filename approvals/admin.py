from django.contrib import admin

from approvals.models import Action, NotificationPreference, SlackMessage, SlackUser


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


@admin.register(SlackUser)
class SlackUserAdmin(admin.ModelAdmin):
    """Who each Slack user decides as; deleting a row unlinks them (they are matched again by
    verified email, or link again from Slack)."""

    list_display = ["slack_user_id", "user", "via", "linked_at"]
    list_filter = ["via"]
    search_fields = ["slack_user_id", "user__username", "user__email"]
    readonly_fields = ["slack_user_id", "user", "via", "linked_at"]

    def has_add_permission(self, request):
        return False


@admin.register(SlackMessage)
class SlackMessageAdmin(admin.ModelAdmin):
    """Read-only: what was posted to Slack about each action, and any failure to post it."""

    list_display = ["action", "channel", "tier", "status", "shown_status", "attempts", "sent_at"]
    list_filter = ["status", "channel"]
    readonly_fields = [field.name for field in SlackMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
