from django.urls import path

from identity import views

app_name = "identity"

urlpatterns = [
    path("accounts/oidc/start/", views.oidc_start, name="oidc_start"),
    path("accounts/oidc/callback/", views.oidc_callback, name="oidc_callback"),
]
