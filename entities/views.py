"""Entity CRUD and the journey-event history. Movement is entities.movement_api."""

from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from django.http import Http404
from rest_framework import mixins, viewsets
from rest_framework.serializers import BaseSerializer

from entities import services
from entities.models import Entity, JourneyEvent, JourneyEventType
from entities.serializers import EntitySerializer, JourneyEventSerializer
from stitch.api import OwnedQuerysetMixin
from stitch.filters import UTCIsoDateTimeFilter


class EntityFilter(django_filters.FilterSet):
    canvas_id = django_filters.UUIDFilter(field_name="canvas_id")
    entity_type = django_filters.CharFilter()
    current_node_id = django_filters.CharFilter()
    current_edge_id = django_filters.CharFilter()
    # Stored normalised, so the query value is normalised the same way (case-insensitive,
    # and the (canvas, email) index serves it).
    email = django_filters.CharFilter(method="filter_email")
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

    def filter_email(self, queryset: QuerySet[Entity], name: str, value: str) -> QuerySet[Entity]:
        return queryset.filter(email=services.email_normalise(value))


class EntityViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """Entities on canvases you own. Positions change only through `move/`."""

    serializer_class = EntitySerializer
    filterset_class = EntityFilter
    owner_field = "canvas__owner"

    def get_queryset(self) -> QuerySet[Entity]:
        return self.scope(Entity.objects.all())

    def perform_create(self, serializer: BaseSerializer[Entity]) -> None:
        data = dict(serializer.validated_data)
        position = data.pop("position")
        serializer.instance = services.entity_create(
            **data,
            node_id=position["current_node_id"],
            edge_id=position["current_edge_id"],
            progress=position["edge_progress"],
        )

    def perform_update(self, serializer: BaseSerializer[Entity]) -> None:
        # The canvas cannot change (the serializer refuses another one).
        changes = {k: v for k, v in serializer.validated_data.items() if k != "canvas"}
        assert serializer.instance is not None
        try:
            serializer.instance = services.entity_update(
                entity_id=serializer.instance.pk, changes=changes
            )
        except services.MovementError as exc:
            if exc.field == "entity_id":  # deleted since it was read
                raise Http404 from exc
            raise

    def perform_destroy(self, instance: Entity) -> None:
        # Through the service: subscribers get `entity.deleted` after the commit.
        services.entity_delete(entity_id=instance.pk)


class JourneyEventFilter(django_filters.FilterSet):
    entity_id = django_filters.UUIDFilter(field_name="entity_id")
    canvas_id = django_filters.UUIDFilter(field_name="canvas_id")
    event_type = django_filters.ChoiceFilter(choices=JourneyEventType.choices)
    node_id = django_filters.CharFilter()
    edge_id = django_filters.CharFilter()
    since = UTCIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UTCIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")

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
