from django.urls import path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from api import docs, rest

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
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", docs.swagger_ui, name="docs"),
    path("redoc/", docs.redoc, name="redoc"),
]
