from __future__ import annotations

from django.db.models import QuerySet
from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from stitch.api import FIELDS_PARAMETER, FieldSelectionMixin, OwnedQuerysetMixin
from stitch.filters import UTCIsoDateTimeFilter
from webhooks import services
from webhooks.models import WebhookConfig, WebhookEvent, WebhookEventStatus
from webhooks.serializers import (
    WebhookConfigSerializer,
    WebhookEventListSerializer,
    WebhookEventSerializer,
)


class WebhookConfigViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    serializer_class = WebhookConfigSerializer
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[WebhookConfig]:
        return self.scope(WebhookConfig.objects.all())


class WebhookEventFilter(filters.FilterSet):
    webhook_config_id = filters.UUIDFilter(field_name="webhook_config_id")
    status = filters.ChoiceFilter(choices=WebhookEventStatus.choices)
    # The same window as the bulk replay's filter: what it would replay can be listed.
    since = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="gte")
    until = UTCIsoDateTimeFilter(field_name="received_at", lookup_expr="lt")

    class Meta:
        model = WebhookEvent
        fields = ["webhook_config_id", "status", "since", "until"]


@extend_schema_view(
    list=extend_schema(parameters=[FIELDS_PARAMETER]),
    retrieve=extend_schema(parameters=[FIELDS_PARAMETER]),
)
class WebhookEventViewSet(
    FieldSelectionMixin,
    OwnedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = WebhookEventSerializer
    owner_field = "webhook_config__canvas__owner"
    filterset_class = WebhookEventFilter

    def get_queryset(self) -> QuerySet[WebhookEvent]:
        events = self.scope(WebhookEvent.objects.all())
        # Lists never show payloads: do not even read them (they can be 1 MiB each).
        return events.defer("payload") if self.action == "list" else events

    def get_serializer_class(self) -> type[WebhookEventListSerializer]:
        if self.action == "list":
            return WebhookEventListSerializer
        return WebhookEventSerializer

    @extend_schema(request=None, responses={202: WebhookEventSerializer})
    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str | None = None) -> Response:
        """Process the stored event again (a completed one starts a new run)."""
        event = self.get_object()
        replayed = services.webhook_event_replay(event_id=event.pk)
        return Response(self.get_serializer(replayed).data, status=status.HTTP_202_ACCEPTED)
