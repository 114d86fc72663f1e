from django.urls import path

from console import views

app_name = "console"
urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("review/", views.review, name="review"),
    path("customer/<int:pk>/", views.customer, name="customer"),
]
