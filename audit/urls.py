from django.urls import path

from audit import views

app_name = "audit"
urlpatterns = [
    path("", views.search, name="search"),
    path("events/<int:seq>/", views.event, name="event"),
    path("export", views.export, name="export"),
    path("chain", views.chain, name="chain"),
    path("verify", views.verify_now, name="verify_now"),
]
