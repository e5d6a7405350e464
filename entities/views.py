"""Entity CRUD and the journey-event history. Movement is entities.movement_api."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import mixins, viewsets

from entities import services
from entities.models import Entity, JourneyEvent, JourneyEventType
from entities.serializers import EntitySerializer, JourneyEventSerializer
from stitch.api import OwnedQuerysetMixin


class EntityFilter(django_filters.FilterSet):
    canvas_id = django_filters.UUIDFilter(field_name="canvas_id")
    entity_type = django_filters.CharFilter()
    current_node_id = django_filters.CharFilter()
    current_edge_id = django_filters.CharFilter()
    email = django_filters.CharFilter(lookup_expr="iexact")
    search = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Entity
        fields = [
            "canvas_id",
            "entity_type",
            "current_node_id",
            "current_edge_id",
            "email",
            "search",
        ]


class EntityViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """Entities on canvases you own. Positions change only through `move/`."""

    serializer_class = EntitySerializer
    filterset_class = EntityFilter
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[Entity]:
        return self.scope(Entity.objects.all())

    def perform_destroy(self, instance: Entity) -> None:
        # Through the service: subscribers get `entity.deleted` after the commit.
        services.entity_delete(entity_id=instance.pk)


class JourneyEventFilter(django_filters.FilterSet):
    entity_id = django_filters.UUIDFilter(field_name="entity_id")
    canvas_id = django_filters.UUIDFilter(field_name="canvas_id")
    event_type = django_filters.ChoiceFilter(choices=JourneyEventType.choices)
    node_id = django_filters.CharFilter()
    edge_id = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

    class Meta:
        model = JourneyEvent
        fields = ["entity_id", "canvas_id", "event_type", "node_id", "edge_id", "since", "until"]


class JourneyEventViewSet(
    OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Movement history of entities on your canvases, newest first."""

    serializer_class = JourneyEventSerializer
    filterset_class = JourneyEventFilter
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[JourneyEvent]:
        # Ties in timestamp (events written in one transaction) ordered by id for
        # stable pages.
        return self.scope(JourneyEvent.objects.all()).order_by("-timestamp", "-id")
