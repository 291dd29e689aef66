from django.contrib import admin

from audit.models import ChainHead, Checkpoint, Event


class ReadOnlyAdmin(admin.ModelAdmin):
    """The database refuses changes anyway; the admin does not offer them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "purged", "created_at"]


@admin.register(ChainHead)
class ChainHeadAdmin(ReadOnlyAdmin):
    list_display = ["verified_at", "seq", "ok", "problem"]


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["seq", "at", "kind", "actor_name", "agent", "action_type"]
    list_filter = ["kind"]
    exclude = ["search"]
