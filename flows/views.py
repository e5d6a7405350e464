"""Flow CRUD and flow versions. Run endpoints live in flows.runs_api."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.request import Request
from rest_framework.response import Response

from flows import services
from flows.models import CanvasType, Flow, FlowVersion
from flows.serializers import (
    FlowSerializer,
    FlowVersionSerializer,
    GraphValidateSerializer,
    GraphValidationSerializer,
)
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

    @extend_schema(
        request=GraphValidateSerializer,
        responses=GraphValidationSerializer,
        operation_id="flows_validate_new",
    )
    @action(detail=False, methods=["post"], url_path="validate", filterset_class=None)
    def validate_new(self, request: Request) -> Response:
        """Check a graph for a canvas not saved yet (it has no children to link to)."""
        return self._validation(request, flow=None)

    @extend_schema(
        request=GraphValidateSerializer,
        responses=GraphValidationSerializer,
        operation_id="flows_validate",
    )
    @action(detail=True, methods=["post"], url_path="validate", filterset_class=None)
    def validate(self, request: Request, pk: Any = None) -> Response:
        """Check a graph as saving it on this flow would, without saving: every problem,
        each naming its node or edge. `canvas_type` defaults to the flow's."""
        return self._validation(request, flow=self.get_object())

    def _validation(self, request: Request, flow: Flow | None) -> Response:
        body = GraphValidateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        default_type = flow.canvas_type if flow else CanvasType.WORKFLOW
        problems = services.graph_problems(
            graph=body.validated_data["graph"],
            canvas_type=body.validated_data.get("canvas_type", default_type),
            flow=flow,
        )
        return Response({"valid": not problems, "problems": [p.as_dict() for p in problems]})


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
