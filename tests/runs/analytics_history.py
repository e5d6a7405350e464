"""Hand-made journey histories with exact timestamps, for the analytics endpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from entities.models import Entity, JourneyEvent
from flows.models import Flow
from tests.factories import EntityFactory, JourneyEventFactory

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday


def arrive(entity: Entity, node_id: str, at: datetime, kind: str = "node_arrival") -> None:
    JourneyEventFactory.create(
        entity=entity, canvas=entity.canvas, event_type=kind, node_id=node_id, timestamp=at
    )


def walker(canvas: Flow, *stops: tuple[str, timedelta]) -> Entity:
    """An entity that arrived at each node at T0 + offset."""
    entity = EntityFactory.create(canvas=canvas)
    for node_id, offset in stops:
        arrive(entity, node_id, T0 + offset)
    return entity


def leave(entity: Entity, node_id: str, seconds: float, at: datetime) -> None:
    """The event that takes the entity off `node_id` after `seconds` there."""
    JourneyEvent.objects.create(
        entity=entity,
        canvas=entity.canvas,
        event_type="edge_start",
        edge_id="e-leads-customers",
        timestamp=at,
        previous_node_id=node_id,
        seconds_in_previous_node=seconds,
    )
