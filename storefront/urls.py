from django.urls import path

from storefront import views

app_name = "storefront"
urlpatterns = [
    path("", views.home, name="home"),
    path("api/", views.api_docs, name="api-docs"),
    path("account/api/", views.api_keys, name="api-keys"),
]
