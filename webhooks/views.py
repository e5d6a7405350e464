from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from stitch.api import OwnedQuerysetMixin
from webhooks.models import WebhookConfig, WebhookEvent
from webhooks.serializers import WebhookConfigSerializer, WebhookEventSerializer


class WebhookConfigViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    serializer_class = WebhookConfigSerializer
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[WebhookConfig]:
        return self.scope(WebhookConfig.objects.all())


class WebhookEventViewSet(
    OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = WebhookEventSerializer
    owner_field = "webhook_config__canvas__owner"

    def get_queryset(self) -> QuerySet[WebhookEvent]:
        queryset = self.scope(WebhookEvent.objects.all())
        params = self.request.query_params
        for name in ("webhook_config_id", "status"):
            if params.get(name):
                queryset = queryset.filter(**{name: params[name]})
        return queryset
