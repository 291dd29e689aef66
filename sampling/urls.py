from django.urls import path

from sampling import views

app_name = "sampling"
urlpatterns = [
    path("samples/", views.samples, name="samples"),
    path("samples/<uuid:pk>/grade", views.grade, name="grade"),
]
