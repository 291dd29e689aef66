from django.contrib import admin
from django.urls import include, path

from hitl_site import views
from hitl_site.api import api
from identity import views as identity_views

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    # RFC 9728: where MCP clients and agents learn which authorization servers issue tokens for this resource.
    path(".well-known/oauth-protected-resource", identity_views.protected_resource_metadata),
    path("accounts/login/", identity_views.login, name="login"),  # Django's, with "Sign in with …"
    path("", include("identity.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("audit.urls")),
    path("", include("approvals.urls")),
    path("", include("push.urls")),  # the manifest and the service worker at the root: their scope is the inbox
    path("", include("sampling.urls")),
    path("", include("insights.urls")),
    path("", include("teams.urls")),
]
