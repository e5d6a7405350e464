from __future__ import annotations

from typing import Any

from rest_framework import serializers

from entities.models import Entity, JourneyEvent
from flows.models import Flow
from stitch import jsondata
from stitch.api import limit_to_owned_flows

# Given at creation only (SPEC 6); afterwards positions change through moves.
POSITION_FIELDS = ("current_node_id", "current_edge_id", "edge_progress")
# Written by moves alone, never by a client.
MOVE_RECORD_FIELDS = ("journey", "sequence")


class EntitySerializer(serializers.ModelSerializer):
    """Validates and shapes; entities.services writes (see EntityViewSet)."""

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
        # The (canvas, email) rule is checked by the service against the normalised
        # address, and reported on `email` (DRF's own validator would compare the raw one).
        validators: list[Any] = []
        # Read-only as model fields: a position given at creation is read from the body
        # by `validate` and placed by the service, like a move.
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

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # The raw body (a QueryDict for form posts is a dict too): read-only fields
        # never reach `attrs`, and naming one must not pass silently.
        body = self.initial_data if isinstance(self.initial_data, dict) else {}
        if self.instance is not None:
            self._refuse(body, (*POSITION_FIELDS, *MOVE_RECORD_FIELDS), _move_hint(self.instance))
            return attrs
        self._refuse(body, MOVE_RECORD_FIELDS, "it is recorded from the entity's moves")
        attrs["position"] = {key: _position_value(body, key) for key in POSITION_FIELDS}
        return attrs

    @staticmethod
    def _refuse(body: dict[str, Any], fields: tuple[str, ...], why: str) -> None:
        named = [field for field in fields if field in body]
        if named:
            raise serializers.ValidationError(
                {field: [f"cannot be set here: {why}"] for field in named}
            )

    def validate_metadata(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("metadata must be an object")
        found = jsondata.problem(value, path="metadata")
        if found is not None:
            raise serializers.ValidationError(str(found))
        return value


def _move_hint(entity: Entity) -> str:
    return f"positions change through POST /api/entities/{entity.pk}/move/"


def _position_value(body: dict[str, Any], field: str) -> Any:
    value = body.get(field)
    if value is None or field == "edge_progress":  # the service checks the number
        return value
    if not isinstance(value, str) or not value:
        raise serializers.ValidationError({field: [f"{field} must be a non-empty string"]})
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
