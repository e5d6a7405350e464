from __future__ import annotations

from typing import Any

from rest_framework import serializers

from flows.models import Flow
from stitch.api import limit_to_owned_flows
from webhooks import slugs
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.validation import SLUG_RE, webhook_config_problems

# Model field -> request field, for errors found by the shared config checks.
_REQUEST_NAMES = {"canvas": "canvas_id", "workflow": "workflow_id"}


class WebhookConfigSerializer(serializers.ModelSerializer):
    canvas_id = serializers.PrimaryKeyRelatedField(source="canvas", queryset=Flow.objects.none())
    workflow_id = serializers.PrimaryKeyRelatedField(
        source="workflow", queryset=Flow.objects.none()
    )
    secret = serializers.CharField(
        write_only=True, required=False, allow_null=True, allow_blank=True
    )
    has_secret = serializers.SerializerMethodField()
    # Optional, and no uniqueness check on the given value: see _slug.
    endpoint_slug = serializers.CharField(required=False)
    endpoint_url = serializers.CharField(read_only=True)

    class Meta:
        model = WebhookConfig
        fields = [
            "id",
            "canvas_id",
            "name",
            "source",
            "endpoint_slug",
            "endpoint_url",
            "secret",
            "has_secret",
            "require_signature",
            "workflow_id",
            "entry_edge_id",
            "entity_mapping",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "endpoint_url", "has_secret", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit_to_owned_flows(self, "canvas_id", "workflow_id")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("secret") == "":
            attrs["secret"] = None  # an empty secret means "no secret", never a signing key
        instance = self.instance
        if "endpoint_slug" in attrs:
            attrs["endpoint_slug"] = _slug(attrs["endpoint_slug"], instance)

        def current(name: str) -> Any:
            return attrs[name] if name in attrs else getattr(instance, name, None)

        problems = webhook_config_problems(
            canvas=current("canvas"),
            workflow=current("workflow"),
            entry_edge_id=current("entry_edge_id"),
            entity_mapping=current("entity_mapping")
            if instance or "entity_mapping" in attrs
            else {},
            source=current("source"),
            secret=current("secret"),
            endpoint_slug=current("endpoint_slug"),
        )
        if problems:
            raise serializers.ValidationError(
                {_REQUEST_NAMES.get(field, field): messages for field, messages in problems.items()}
            )
        return attrs

    def get_has_secret(self, config: WebhookConfig) -> bool:
        return bool(config.secret)


def _slug(chosen: str, instance: WebhookConfig | None) -> str:
    """The slug to store for a requested one: unchanged when it is the config's own,
    else the name followed by a random part, so it never collides with (and so never
    reveals) another user's slug."""
    if instance is not None and chosen == instance.endpoint_slug:
        return chosen
    if not SLUG_RE.match(chosen) or len(chosen) > slugs.CHOSEN_MAX_LENGTH:
        raise serializers.ValidationError(
            {
                "endpoint_slug": [
                    f"Use 1-{slugs.CHOSEN_MAX_LENGTH} letters, digits, '-' or '_' "
                    "(a random part is added to it), or leave it out to get a random one."
                ]
            }
        )
    return slugs.endpoint_slug_from(chosen)


class WebhookEventListSerializer(serializers.ModelSerializer):
    """An event in lists: everything but the payload (up to 1 MiB each; detail view)."""

    webhook_config_id = serializers.UUIDField(read_only=True)
    entity_id = serializers.UUIDField(read_only=True)
    workflow_run_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = WebhookEvent
        fields = [
            "id",
            "webhook_config_id",
            "provider_event_id",
            "received_at",
            "entity_id",
            "workflow_run_id",
            "status",
            "error",
            "processed_at",
            "accepted",
        ]
        read_only_fields = fields


class WebhookEventSerializer(WebhookEventListSerializer):
    """An event with its payload (detail view, replay)."""

    class Meta(WebhookEventListSerializer.Meta):
        fields = [*WebhookEventListSerializer.Meta.fields, "payload"]
        read_only_fields = fields
