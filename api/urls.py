from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from api import docs, rest
from webhooks import rest as webhooks_rest

router = DefaultRouter()
router.register("services", rest.ServiceViewSet, basename="service")
router.register("orders", rest.OrderViewSet, basename="order")
router.register("refills", rest.RefillViewSet, basename="refill")

app_name = "api"
urlpatterns = [
    *router.urls,
    path("balance/", rest.BalanceView.as_view(), name="balance"),
    path("ledger/", rest.LedgerView.as_view(), name="ledger"),
    path("requests/", rest.ApiRequestView.as_view(), name="requests"),
    path("webhook/", webhooks_rest.WebhookView.as_view(), name="webhook"),
    path("webhook/rotate/", webhooks_rest.WebhookRotateView.as_view(), name="webhook-rotate"),
    path("webhook/test/", webhooks_rest.WebhookTestView.as_view(), name="webhook-test"),
    path("webhook/deliveries/", webhooks_rest.WebhookDeliveryView.as_view(), name="webhook-deliveries"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.swagger_ui, name="docs"),
    path("redoc/", docs.redoc, name="redoc"),
]
