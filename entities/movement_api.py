"""`POST /api/entities/{id}/move/`: the five movement operations behind one endpoint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from entities import services
from entities.models import Entity
from entities.serializers import EntitySerializer, JourneyEventSerializer

OPERATIONS = ("node_id", "edge_id", "arrive", "complete")
ALLOWED = {*OPERATIONS, "progress", "metadata"}
SHAPES = 'send exactly one of {"node_id"}, {"edge_id"}, {"edge_id", "progress"}, ' + (
    '{"arrive": true} or {"complete": true}'
)

Move = Callable[[Any], services.Movement]


def _text(body: dict[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str) or not value:
        raise ValidationError({key: [f"{key} must be a non-empty string"]})
    return value


def _flag(body: dict[str, Any], key: str) -> None:
    if body[key] is not True:
        raise ValidationError({key: [f"{key} must be true"]})


def parse_move(body: Any) -> Move:
    """Turn a request body into one movement call, or a 400 naming the field at fault."""
    if not isinstance(body, dict):
        raise ValidationError({"non_field_errors": [f"expected a JSON object: {SHAPES}"]})
    unknown = sorted(set(body) - ALLOWED)
    if unknown:
        raise ValidationError({key: [f"unknown field; {SHAPES}"] for key in unknown})
    chosen = [key for key in OPERATIONS if key in body]
    if "progress" in body and "edge_id" not in body:
        raise ValidationError({"edge_id": ["edge_id is required together with progress"]})
    if len(chosen) != 1:
        errors = {key: [SHAPES] for key in chosen} or {"non_field_errors": [SHAPES]}
        raise ValidationError(errors)
    metadata = body.get("metadata")
    operation = chosen[0]
    if operation == "node_id":
        node_id = _text(body, "node_id")
        return lambda pk: services.entity_manual_move(
            entity_id=pk, node_id=node_id, metadata=metadata
        )
    if operation == "edge_id":
        edge_id = _text(body, "edge_id")
        if "progress" in body:
            progress = services.progress_value(body["progress"])
            return lambda pk: services.entity_progress(
                entity_id=pk, edge_id=edge_id, progress=progress, metadata=metadata
            )
        return lambda pk: services.entity_journey_start(
            entity_id=pk, edge_id=edge_id, metadata=metadata
        )
    _flag(body, operation)
    if operation == "arrive":
        return lambda pk: services.entity_arrive(entity_id=pk, metadata=metadata)
    return lambda pk: services.entity_complete(entity_id=pk, metadata=metadata)


class EntityMoveView(APIView):
    @extend_schema(
        request=inline_serializer(
            "EntityMove",
            {
                "node_id": serializers.CharField(required=False),
                "edge_id": serializers.CharField(required=False),
                "progress": serializers.FloatField(required=False, min_value=0, max_value=1),
                "arrive": serializers.BooleanField(required=False),
                "complete": serializers.BooleanField(required=False),
                "metadata": serializers.JSONField(required=False),
            },
        ),
        responses=inline_serializer(
            "EntityMoved", {"entity": EntitySerializer(), "event": JourneyEventSerializer()}
        ),
        examples=[OpenApiExample("start a journey", value={"edge_id": "e-leads-customers"})],
        description=f"Move an entity: {SHAPES}.",
    )
    def post(self, request: Request, pk: Any) -> Response:
        # Others' entities are 404 before the body is even looked at.
        if not Entity.objects.filter(pk=pk, canvas__owner_id=request.user.pk).exists():
            raise Http404
        move = parse_move(request.data)
        try:
            movement = move(pk)
        except services.MovementError as exc:
            if exc.field == "entity_id":  # deleted since the check above
                raise Http404 from exc
            raise
        return Response(
            {
                "entity": EntitySerializer(movement.entity).data,
                "event": JourneyEventSerializer(movement.event).data,
            }
        )
