from django.contrib import admin

from teams.models import TeamsCard, TeamsUser


@admin.register(TeamsUser)
class TeamsUserAdmin(admin.ModelAdmin):
    """Where an admin links a Teams user (their Entra object id) whose email matches no user."""

    list_display = ["aad_object_id", "user", "via", "linked_at", "personal_conversation_id"]
    search_fields = ["aad_object_id", "user__username", "user__email"]
    raw_id_fields = ["user"]
    readonly_fields = ["teams_user_id", "service_url", "personal_conversation_id", "linked_at"]


@admin.register(TeamsCard)
class TeamsCardAdmin(admin.ModelAdmin):
    list_display = ["action", "conversation_id", "status", "shown_status", "attempts", "sent_at"]
    list_filter = ["status"]
    readonly_fields = [field.name for field in TeamsCard._meta.fields]

    def has_add_permission(self, request):
        return False
