from __future__ import annotations

from typing import Any

from rest_framework import serializers

from flows import services
from flows.models import CanvasType, Flow, FlowVersion
from stitch.api import limit_to_owned_flows
from stitch.errors import FieldError


class FlowSerializer(serializers.ModelSerializer):
    canvas_type = serializers.ChoiceField(choices=CanvasType.choices, default=CanvasType.WORKFLOW)
    graph = serializers.JSONField()
    parent_id = serializers.PrimaryKeyRelatedField(
        source="parent", queryset=Flow.objects.none(), allow_null=True, required=False
    )
    current_version = serializers.SerializerMethodField()

    class Meta:
        model = Flow
        fields = [
            "id",
            "name",
            "graph",
            "canvas_type",
            "parent_id",
            "current_version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # A parent must be one of the caller's own canvases (else 400, not a leak).
        limit_to_owned_flows(self, "parent_id")

    def get_current_version(self, flow: Flow) -> int | None:
        version = flow.current_version
        return version.number if version else None

    def validate_parent_id(self, parent: Flow | None) -> Flow | None:
        try:
            services.parent_check(flow=self.instance, parent=parent)
        except FieldError as exc:
            raise serializers.ValidationError(exc.message) from exc
        return parent


class FlowVersionSerializer(serializers.ModelSerializer):
    flow_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = FlowVersion
        fields = ["id", "flow_id", "number", "graph", "plan", "created_at"]
        read_only_fields = fields


class GraphValidateSerializer(serializers.Serializer):
    """Body of the editor's validate calls: a graph and the canvas type to check it as."""

    graph = serializers.JSONField()
    canvas_type = serializers.ChoiceField(choices=CanvasType.choices, required=False)


class GraphProblemSerializer(serializers.Serializer):
    message = serializers.CharField()
    node_id = serializers.CharField(required=False)
    edge_id = serializers.CharField(required=False)


class GraphValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField()
    problems = GraphProblemSerializer(many=True)
