from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from flows import services
from flows.models import Flow, Run
from flows.serializers import FlowSerializer, FlowVersionSerializer, RunSerializer
from stitch.api import OwnedQuerysetMixin


class FlowViewSet(OwnedQuerysetMixin, viewsets.ModelViewSet):
    serializer_class = FlowSerializer

    def get_queryset(self) -> QuerySet[Flow]:
        return self.scope(Flow.objects.select_related("current_version"))

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        serializer.instance = services.flow_create(
            owner=self.request.user,
            name=data["name"],
            graph=data["graph"],
            canvas_type=data.get("canvas_type", "workflow"),
            parent=data.get("parent"),
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.flow_update(
            flow=serializer.instance, **serializer.validated_data
        )

    @action(detail=True, methods=["get"])
    def versions(self, request: Request, pk: str | None = None) -> Response:
        flow = self.get_object()
        page = self.paginate_queryset(flow.versions.all())
        serializer = FlowVersionSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)


class RunViewSet(
    OwnedQuerysetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = RunSerializer
    owner_field = "flow__owner"

    def get_queryset(self) -> QuerySet[Run]:
        return self.scope(Run.objects.select_related("flow_version"))
