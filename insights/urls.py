from django.urls import path

from insights import views

urlpatterns = [
    path("insights/", views.insights, name="insights"),
    path("insights/<slug:chart>.csv", views.insights_csv, name="insights_csv"),
    path("metrics", views.metrics, name="metrics"),
]
