"""The customer's webhook over the REST API: set it, rotate its secret, remove it, test it, read its log.
Thin: each calls the services the webhook page calls."""

from django.core.exceptions import ValidationError
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.response import Response

from api.rest import RestView, _invalid
from webhooks.models import Delivery
from webhooks.selectors import deliveries_of, endpoint_of
from webhooks.serializers import DeliverySerializer, EndpointSerializer, EndpointWithSecretSerializer
from webhooks.services import endpoint_remove, endpoint_rotate, endpoint_set, send_test_event


def _with_secret(endpoint, secret: str) -> dict:
    return {**EndpointSerializer(endpoint).data, "secret": secret}


class WebhookView(RestView, GenericAPIView):
    """Your webhook: where your orders' and refills' status changes are POSTed, signed (Standard Webhooks)."""

    serializer_class = EndpointSerializer

    def get_object(self):
        if (endpoint := endpoint_of(self.request.user)) is None:
            raise Http404
        return endpoint

    def get(self, request):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(
        request=EndpointSerializer,
        responses={
            201: OpenApiResponse(
                EndpointWithSecretSerializer, description="Made, with its secret (shown once)."
            ),
            200: OpenApiResponse(EndpointSerializer, description="The URL changed; the secret did not."),
        },
    )
    def put(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            endpoint, secret = endpoint_set(
                user=request.user, url=serializer.validated_data["url"], actor=request.user
            )
        except ValidationError as error:
            raise _invalid(error) from None
        if secret:
            return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: None})
    def delete(self, request):
        if not endpoint_remove(user=request.user, actor=request.user):
            raise Http404
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateView(RestView, GenericAPIView):
    """A new signing secret, shown in this answer only; the old one stops signing at once."""

    serializer_class = EndpointWithSecretSerializer

    @extend_schema(request=None, responses={200: EndpointWithSecretSerializer})
    def post(self, request):
        if endpoint_of(request.user) is None:
            raise Http404
        secret = endpoint_rotate(user=request.user, actor=request.user)
        return Response(_with_secret(endpoint_of(request.user), secret))


class WebhookTestView(RestView, GenericAPIView):
    """Queue a test event (``"type": "test"``) for your webhook; it shows in the delivery log."""

    serializer_class = DeliverySerializer

    @extend_schema(request=None, responses={202: DeliverySerializer})
    def post(self, request):
        if endpoint_of(request.user) is None:
            raise Http404
        return Response(
            DeliverySerializer(send_test_event(user=request.user)).data, status=status.HTTP_202_ACCEPTED
        )


class WebhookDeliveryView(RestView, ListAPIView):
    """Your webhook's delivery log, newest first: each event, its attempts and the last answer."""

    serializer_class = DeliverySerializer
    queryset = Delivery.objects.none()  # for the schema; get_queryset scopes to the caller

    def get_queryset(self):
        return deliveries_of(self.request.user)
