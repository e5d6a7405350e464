"""Entity and journey event representations for websocket messages, built directly.

They are exactly what `EntitySerializer` / `JourneyEventSerializer` render (the REST
API's shape; tests/entities/test_realtime_payloads.py holds the two together), but a
ModelSerializer instance deep-copies its declared fields and builds every model field
on each use, which cost ~1.8 ms per move, more than the move's own SQL. Values that
need formatting go through the very DRF field classes the serializers use.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from entities.models import Entity, JourneyEvent

# Unbound DRF fields: formatting only, same settings as the serializers' fields
# (ISO 8601 in the current time zone with "Z" for UTC; decimals as strings).
_DATETIME = serializers.DateTimeField()
_PROGRESS = serializers.DecimalField(max_digits=3, decimal_places=2)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _datetime(value: Any) -> str | None:
    return None if value is None else _DATETIME.to_representation(value)


def _progress(value: Any) -> str | None:
    return None if value is None else _PROGRESS.to_representation(value)


def entity_data(entity: Entity) -> dict[str, Any]:
    """The entity as the REST API renders it, JSON-ready."""
    return {
        "id": _text(entity.pk),
        "canvas_id": _text(entity.canvas_id),
        "name": _text(entity.name),
        "email": _text(entity.email),
        "avatar_url": _text(entity.avatar_url),
        "entity_type": _text(entity.entity_type),
        "current_node_id": _text(entity.current_node_id),
        "current_edge_id": _text(entity.current_edge_id),
        "edge_progress": _progress(entity.edge_progress),
        "journey": entity.journey,
        "metadata": entity.metadata,
        "created_at": _datetime(entity.created_at),
        "updated_at": _datetime(entity.updated_at),
    }


def event_data(event: JourneyEvent) -> dict[str, Any]:
    """The journey event as the REST API renders it, JSON-ready."""
    return {
        "id": _text(event.pk),
        "entity_id": _text(event.entity_id),
        "canvas_id": _text(event.canvas_id),
        "event_type": _text(event.event_type),
        "node_id": _text(event.node_id),
        "edge_id": _text(event.edge_id),
        "progress": _progress(event.progress),
        "metadata": event.metadata,
        "timestamp": _datetime(event.timestamp),
    }
