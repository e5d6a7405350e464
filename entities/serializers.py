from __future__ import annotations

from typing import Any

from rest_framework import serializers

from entities.models import Entity, JourneyEvent
from flows.models import Flow
from stitch import jsondata
from stitch.api import limit_to_owned_flows

# Given at creation only (SPEC 6); afterwards positions change through moves.
POSITION_FIELDS = ("current_node_id", "current_edge_id", "edge_progress")
CREATE_ONLY = "Afterwards the position changes through POST /api/entities/{id}/move/."
# Written by moves alone, never by a client.
MOVE_RECORD_FIELDS = ("journey", "sequence")


class EntitySerializer(serializers.ModelSerializer):
    """Validates and shapes; entities.services writes (see EntityViewSet)."""

    canvas_id = serializers.PrimaryKeyRelatedField(source="canvas", queryset=Flow.objects.none())
    email = serializers.EmailField(required=False, allow_null=True)
    # Writable at creation only (`validate` refuses them in an edit); checked against
    # the canvas by the service, like a move.
    current_node_id = serializers.CharField(
        required=False, allow_null=True, help_text=f"Create only. {CREATE_ONLY}"
    )
    current_edge_id = serializers.CharField(
        required=False, allow_null=True, help_text=f"Create only, with edge_progress. {CREATE_ONLY}"
    )
    edge_progress = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text=f"0..1, create only (default 0). {CREATE_ONLY}",
    )

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
        read_only_fields = [
            "id",
            "journey",
            "created_at",
            "updated_at",
        ]

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        limit_to_owned_flows(self, "canvas_id")
        if self.instance is not None:
            # An edit naming them is refused as a whole (`validate`), whatever the value.
            for name in POSITION_FIELDS:
                self.fields[name].read_only = True

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
        attrs["position"] = {key: attrs.pop(key, None) for key in POSITION_FIELDS}
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
