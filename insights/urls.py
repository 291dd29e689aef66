from django.urls import path

from insights import views

urlpatterns = [
    path("insights/", views.insights, name="insights"),
    path("insights/<slug:chart>.csv", views.insights_csv, name="insights_csv"),
    path("insights/shadow/<int:pk>/", views.shadow, name="shadow_report"),
    path("insights/decisions.jsonl", views.decisions_export, name="decisions_export"),
    path("insights/checker/", views.evaluate_checker_page, name="evaluate_checker"),
    path("metrics", views.metrics, name="metrics"),
]
