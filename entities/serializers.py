from __future__ import annotations

from typing import Any

from rest_framework import serializers

from entities.models import Entity, JourneyEvent
from flows.models import Flow
from stitch import jsondata
from stitch.api import limit_to_owned_flows


class EntitySerializer(serializers.ModelSerializer):
    canvas_id = serializers.PrimaryKeyRelatedField(source="canvas", queryset=Flow.objects.none())
    email = serializers.EmailField(required=False, allow_null=True)

    class Meta:
        model = Entity
        fields = [
            "id",
            "canvas_id",
            "name",
            "email",
            "avatar_url",
            "entity_type",
            "current_node_id",
            "current_edge_id",
            "edge_progress",
            "journey",
            "metadata",
            "created_at",
            "updated_at",
        ]
        # Position changes only through the movement endpoint, which writes the journey.
        read_only_fields = [
            "id",
            "current_node_id",
            "current_edge_id",
            "edge_progress",
            "journey",
            "created_at",
            "updated_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit_to_owned_flows(self, "canvas_id")

    def validate_canvas_id(self, canvas: Flow) -> Flow:
        # Its position and journey name ids of its canvas graph: it cannot change canvas.
        if self.instance is not None and canvas.pk != self.instance.canvas_id:
            raise serializers.ValidationError("an entity cannot move to another canvas")
        return canvas

    def validate_metadata(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("metadata must be an object")
        found = jsondata.problem(value, path="metadata")
        if found is not None:
            raise serializers.ValidationError(str(found))
        return value


class JourneyEventSerializer(serializers.ModelSerializer):
    entity_id = serializers.UUIDField(read_only=True)
    canvas_id = serializers.UUIDField(read_only=True)

    class Meta:
        model = JourneyEvent
        fields = [
            "id",
            "entity_id",
            "canvas_id",
            "event_type",
            "node_id",
            "edge_id",
            "progress",
            "metadata",
            "timestamp",
        ]
        read_only_fields = fields
