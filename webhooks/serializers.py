from rest_framework import serializers

from webhooks.models import Delivery, Endpoint


class EndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = Endpoint
        fields = ["url", "created_at", "secret_rotated_at"]
        read_only_fields = ["created_at", "secret_rotated_at"]


class EndpointWithSecretSerializer(EndpointSerializer):
    secret = serializers.CharField(
        read_only=True, help_text="The signing secret (whsec_…): shown only in this answer, never again."
    )

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "msg_id",
            "event_type",
            "status",
            "created_at",
            "attempts",
            "last_attempt_at",
            "next_attempt_at",
            "response_code",
            "response_excerpt",
            "error",
        ]
