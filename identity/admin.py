from django.contrib import admin

from identity.models import ExternalIdentity


@admin.register(ExternalIdentity)
class ExternalIdentityAdmin(admin.ModelAdmin):
    """Who each user is at the identity provider: read-only, made and updated by sign-ins. To stop a
    person, disable their user (or remove them at the provider)."""

    list_display = ["user", "method", "issuer", "subject", "last_sign_in_at"]
    list_filter = ["method", "issuer"]
    search_fields = ["user__username", "subject", "issuer"]
    readonly_fields = ["user", "method", "issuer", "subject", "created_at", "last_sign_in_at"]

    def has_add_permission(self, request):
        return False
