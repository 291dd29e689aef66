from django.urls import path

from push import views

app_name = "push"
urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("push/subscribe", views.subscribe, name="subscribe"),
    path("push/unsubscribe", views.unsubscribe, name="unsubscribe"),
    path("push/approve/<str:token>", views.approve, name="approve"),
]
