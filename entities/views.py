from __future__ import annotations

from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from entities.models import Entity, JourneyEvent
from entities.serializers import EntitySerializer, JourneyEventSerializer
from stitch.api import OwnedQuerysetMixin


class EntityViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    serializer_class = EntitySerializer
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[Entity]:
        queryset = self.scope(Entity.objects.all())
        params = self.request.query_params
        for name in ("canvas_id", "entity_type", "current_node_id", "current_edge_id", "email"):
            if params.get(name):
                queryset = queryset.filter(**{name: params[name]})
        return queryset


class JourneyEventViewSet(
    OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = JourneyEventSerializer
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[JourneyEvent]:
        queryset = self.scope(JourneyEvent.objects.all())
        params = self.request.query_params
        for name in ("entity_id", "canvas_id", "event_type", "node_id", "edge_id"):
            if params.get(name):
                queryset = queryset.filter(**{name: params[name]})
        return queryset
