"""The REST API: a customer's services, orders, refills, balance, ledger and request log.

Thin: every write is one service function, the same the website and API v2 call; every read is scoped to
the caller.
"""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from api.filters import OrderFilter, RefillFilter, ServiceFilter
from api.models import ApiRequest
from api.pagination import HistoryCursorPagination
from api.request_log import LoggedRequestsMixin
from api.serializers import (
    ApiRequestSerializer,
    BalanceSerializer,
    CancelSerializer,
    LedgerEntrySerializer,
    OrderCreateSerializer,
    OrderDetailSerializer,
    OrderSerializer,
    RefillSerializer,
    ServiceSerializer,
)
from billing.models import LedgerEntry
from billing.services import InsufficientFunds, account_for
from catalogue.models import Service
from catalogue.orderable import service_orderable, services_on_sale
from catalogue.pricing import customer_prices
from orders.models import Order, OrderEvent, Refill
from orders.refills import refill_request
from orders.selectors import orders_of, refills_of
from orders.services import order_cancel, order_place


class PaymentRequired(APIException):
    status_code = status.HTTP_402_PAYMENT_REQUIRED
    default_detail = "Not enough funds on balance"


def _invalid(error: ValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(
        error.message_dict if hasattr(error, "error_dict") else {"detail": error.messages}
    )


class RestView(LoggedRequestsMixin):
    interface = ApiRequest.Interface.REST


class ServiceViewSet(RestView, viewsets.ReadOnlyModelViewSet):
    """Services on sale, at your prices."""

    serializer_class = ServiceSerializer
    filterset_class = ServiceFilter

    def get_queryset(self):
        return services_on_sale()

    def get_serializer(self, instance=None, *args, **kwargs):
        if instance is not None:  # prices of exactly the services shown: two queries per page
            shown = instance if isinstance(instance, list) else [instance]
            kwargs["context"] = {
                **self.get_serializer_context(),
                "prices": customer_prices(user=self.request.user, services=shown),
            }
        return super().get_serializer(instance, *args, **kwargs)


class OrderViewSet(RestView, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Your orders: list with filters, one with its history and refills, place, refill, cancel."""

    queryset = Order.objects.none()  # for the schema; get_queryset scopes to the caller

    filterset_class = OrderFilter
    pagination_class = HistoryCursorPagination

    def get_queryset(self):
        orders = orders_of(self.request.user).select_related("service")
        if self.action != "list":
            orders = orders.prefetch_related(
                Prefetch(
                    "events",
                    queryset=OrderEvent.objects.exclude(public_message=""),
                    to_attr="public_events",
                ),
                "refills",
            )
        return orders

    def get_serializer_class(self):
        if self.action == "create":
            return OrderCreateSerializer
        return OrderSerializer if self.action == "list" else OrderDetailSerializer

    @extend_schema(
        request=OrderCreateSerializer,
        responses={
            201: OrderDetailSerializer,
            400: OpenApiResponse(description="A field is wrong."),
            402: None,
        },
    )
    def create(self, request, *args, **kwargs):
        form = OrderCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        service = (
            Service.objects.select_related("provider_service__provider")
            .filter(pk=form.validated_data["service"])
            .first()
        )
        if refusal := service_orderable(service).refusal:
            raise _invalid(ValidationError({"service": refusal}))
        try:
            order = order_place(
                user=request.user, service=service, data=form.order_data(), actor=request.user
            )
        except ValidationError as error:
            raise _invalid(error) from None
        except InsufficientFunds:
            raise PaymentRequired() from None
        order = self.get_queryset().get(pk=order.pk)
        return Response(OrderDetailSerializer(order).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: RefillSerializer, 400: None})
    @action(detail=True, methods=["post"])
    def refill(self, request, pk=None):
        try:
            refill = refill_request(order=self.get_object(), actor=request.user)
        except ValidationError as error:
            raise _invalid(error) from None
        return Response(RefillSerializer(refill).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={202: CancelSerializer, 400: None})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        try:
            outcome = order_cancel(order=self.get_object(), actor=request.user)
        except ValidationError as error:
            raise _invalid(error) from None
        return Response({"detail": outcome}, status=status.HTTP_202_ACCEPTED)


class RefillViewSet(RestView, viewsets.ReadOnlyModelViewSet):
    """Your refill requests, newest first."""

    queryset = Refill.objects.none()  # for the schema; get_queryset scopes to the caller
    serializer_class = RefillSerializer
    filterset_class = RefillFilter
    pagination_class = HistoryCursorPagination

    def get_queryset(self):
        return refills_of(self.request.user)


class BalanceView(RestView, GenericAPIView):
    serializer_class = BalanceSerializer

    def get(self, request):
        account = account_for(request.user)
        return Response(BalanceSerializer({"balance": account.balance, "currency": account.currency}).data)


class LedgerView(RestView, ListAPIView):
    """Every change of your balance, newest first."""

    queryset = LedgerEntry.objects.none()  # for the schema; get_queryset scopes to the caller

    serializer_class = LedgerEntrySerializer
    filterset_fields = ["kind"]
    pagination_class = HistoryCursorPagination

    def get_queryset(self):
        return account_for(self.request.user).ledger.all()


class ApiRequestView(RestView, ListAPIView):
    """The calls made with your API keys (both APIs), newest first."""

    queryset = ApiRequest.objects.none()  # for the schema; get_queryset scopes to the caller

    serializer_class = ApiRequestSerializer
    filterset_fields = ["interface", "action"]

    def get_queryset(self):
        return ApiRequest.objects.filter(user=self.request.user).select_related("api_key")
