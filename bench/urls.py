"""Production URLs plus the bench's bare baseline endpoint."""

from django.urls import path

from bench import views
from hitl_site.urls import urlpatterns as product_urlpatterns

urlpatterns = [
    path("bench/baseline", views.baseline),
    *product_urlpatterns,
]
