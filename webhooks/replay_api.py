"""`POST /api/webhook-events/replay/` (SPEC 7.6): replay the caller's accepted events
matching a filter, each at most once per identical call (stitch.recovery)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers

from stitch.bulk_api import BulkFilterSerializer, BulkRecoveryView
from stitch.models import User
from webhooks import services
from webhooks.models import WebhookEvent, WebhookEventStatus


class ReplayFilterSerializer(BulkFilterSerializer):
    webhook_config_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=WebhookEventStatus.choices, required=False)
    time_field = "received_at"


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="Events replayed by this call.")


@extend_schema_view(
    post=extend_schema(
        operation_id="webhook_events_bulk_replay",
        request=ReplayFilterSerializer,
        responses={200: ReplayedSerializer},
        description="Replay every accepted event of yours matching the filter (at least "
        "one of webhook_config_id, status, since, until; since/until on received_at). "
        "An identical call within BULK_IDEMPOTENCY_SECONDS replays only events it did "
        "not replay before.",
    )
)
class WebhookEventsReplayView(BulkRecoveryView):
    filter_class = ReplayFilterSerializer

    def targets(self, user: User, lookups: dict[str, Any]) -> QuerySet[WebhookEvent]:
        return WebhookEvent.objects.filter(webhook_config__canvas__owner=user, **lookups)

    def recover(self, user: User, targets: QuerySet[Any], request_key: str) -> dict[str, int]:
        replayed = services.webhook_events_replay(
            actor=user, events=targets, request_key=request_key
        )
        return {"replayed": replayed}
