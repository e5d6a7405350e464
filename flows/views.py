"""Flow CRUD and flow versions. Run endpoints live in flows.runs_api."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.generics import get_object_or_404

from flows import services
from flows.models import CanvasType, Flow, FlowVersion
from flows.serializers import FlowSerializer, FlowVersionSerializer
from stitch.api import OwnedQuerysetMixin


class FlowFilter(django_filters.FilterSet):
    canvas_type = django_filters.ChoiceFilter(choices=CanvasType.choices)
    parent_id = django_filters.UUIDFilter(field_name="parent_id")
    name = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Flow
        fields = ["canvas_type", "parent_id", "name"]


class FlowViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    """Canvases you own. Saving a changed workflow graph creates a new version."""

    serializer_class = FlowSerializer
    filterset_class = FlowFilter

    def get_queryset(self) -> QuerySet[Flow]:
        return self.scope(Flow.objects.select_related("current_version"))

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.flow_create(
            owner=self.request.user,
            name=data["name"],
            graph=data["graph"],
            canvas_type=data.get("canvas_type", CanvasType.WORKFLOW),
            parent=data.get("parent"),
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.flow_update(
            flow=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance: Flow) -> None:
        services.flow_delete(flow=instance)


class FlowVersionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Immutable snapshots of one of your flows, newest first; retrieve by number."""

    serializer_class = FlowVersionSerializer
    lookup_field = "number"
    lookup_value_regex = r"\d+"
    filterset_class = None

    def get_queryset(self) -> QuerySet[FlowVersion]:
        if getattr(self, "swagger_fake_view", False):  # schema generation has no flow
            return FlowVersion.objects.none()
        # 404 for a flow that is not yours, not an empty list that would confirm it exists.
        # DRF's get_object_or_404: a malformed id the URL pattern lets through is a 404 too.
        flow = get_object_or_404(
            Flow.objects.only("id"), pk=self.kwargs["flow_id"], owner=self.request.user
        )
        return FlowVersion.objects.filter(flow=flow).order_by("-number")
