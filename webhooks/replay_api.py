"""`POST /api/webhook-events/replay/` (SPEC 7.6): replay the caller's accepted events
matching a filter, each at most once per identical call (stitch.recovery)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from stitch.bulk_api import BulkFilterSerializer
from stitch.models import User
from webhooks import services
from webhooks.models import WebhookEvent, WebhookEventStatus


class ReplayFilterSerializer(BulkFilterSerializer):
    webhook_config_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=WebhookEventStatus.choices, required=False)
    time_field = "received_at"


class ReplayedSerializer(serializers.Serializer):
    replayed = serializers.IntegerField(help_text="Events replayed by this call.")


class WebhookEventsReplayView(APIView):
    @extend_schema(
        request=ReplayFilterSerializer,
        responses={200: ReplayedSerializer},
        description="Replay every accepted event of yours matching the filter (at least "
        "one of webhook_config_id, status, since, until; since/until on received_at). "
        "An identical call within BULK_IDEMPOTENCY_SECONDS replays only events it did "
        "not replay before.",
    )
    def post(self, request: Request) -> Response:
        body = ReplayFilterSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = request.user
        assert isinstance(user, User)  # IsAuthenticated
        events = WebhookEvent.objects.filter(webhook_config__canvas__owner=user, **body.lookups())
        replayed = services.webhook_events_replay(
            actor=user, events=events, request_key=body.request_key()
        )
        return Response({"replayed": replayed})
