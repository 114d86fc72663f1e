from django.urls import path

from webhooks import views

app_name = "webhooks"
urlpatterns = [
    path("account/api/webhook/", views.webhook_settings, name="settings"),
    path("webhooks/provider/<int:provider_id>/", views.upstream_webhook, name="upstream"),
]
