from django.contrib import admin

from push.models import PushMessage, Subscription


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    """The browsers people turned push on in; deleting one turns push off there."""

    list_display = ["user", "device", "created_at"]
    search_fields = ["user__username", "device"]
    readonly_fields = ["user", "endpoint", "p256dh", "auth", "device", "created_at"]

    def has_add_permission(self, request):
        return False


@admin.register(PushMessage)
class PushMessageAdmin(admin.ModelAdmin):
    """Read-only: each push notification, and any failure to send it."""

    list_display = ["action", "subscription", "kind", "tier", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    readonly_fields = [field.name for field in PushMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
