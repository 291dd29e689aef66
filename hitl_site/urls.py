from django.contrib import admin
from django.urls import include, path

from hitl_site import views
from hitl_site.api import api

urlpatterns = [
    path("healthz", views.healthz),
    path("readyz", views.readyz),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("audit/", include("audit.urls")),
    path("", include("approvals.urls")),
    path("", include("sampling.urls")),
    path("", include("insights.urls")),
]
