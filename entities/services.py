"""Entity movement (SPEC section 6): one transaction, one entity row lock, one journey event."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from entities import realtime
from entities.models import Entity, JourneyEvent, JourneyEventType
from flows.models import Flow
from stitch.errors import FieldError

# How many recent events the entity row keeps in `journey`; the full history is
# stitch_journey_events. Small enough that rewriting the row stays cheap.
JOURNEY_TAIL = 20


class MovementError(FieldError):
    """A refused move; `field` names the request field at fault."""


@dataclass(frozen=True)
class Movement:
    entity: Entity
    event: JourneyEvent


def _graph_ids(canvas: Flow) -> tuple[set[str], dict[str, Any]]:
    graph = canvas.graph if isinstance(canvas.graph, dict) else {}
    nodes = {n["id"] for n in graph.get("nodes", []) if isinstance(n, dict) and "id" in n}
    edges = {
        e["id"]: e.get("target")
        for e in graph.get("edges", [])
        if isinstance(e, dict) and "id" in e
    }
    return nodes, edges


def _locked_entity(entity_id: Any) -> Entity:
    # Row lock on the entity only (`of=self`): moves of one entity serialise, while
    # moves of other entities on the same canvas never wait on the canvas row.
    try:
        return (
            Entity.objects.select_for_update(of=("self",))
            .select_related("canvas")
            .get(pk=entity_id)
        )
    except Entity.DoesNotExist as exc:
        raise MovementError("entity_id", f"entity {entity_id} does not exist") from exc


def _record(
    entity: Entity,
    event_type: str,
    *,
    node_id: str | None = None,
    edge_id: str | None = None,
    progress: Decimal | None = None,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    entity.current_node_id = node_id if edge_id is None else None
    entity.current_edge_id = edge_id
    entity.edge_progress = progress if edge_id is not None else None
    event = JourneyEvent.objects.create(
        entity=entity,
        canvas_id=entity.canvas_id,
        event_type=event_type,
        node_id=node_id,
        edge_id=edge_id,
        progress=progress,
        metadata=metadata or {},
    )
    summary = {
        "id": str(event.id),
        "event_type": event_type,
        "node_id": node_id,
        "edge_id": edge_id,
        "progress": float(progress) if progress is not None else None,
        "timestamp": event.timestamp.isoformat(),
    }
    entity.journey = [*(entity.journey or []), summary][-JOURNEY_TAIL:]
    entity.save()
    transaction.on_commit(lambda: realtime.entity_updated(entity=entity, event=event))
    return Movement(entity=entity, event=event)


def _progress_value(progress: Any) -> Decimal:
    try:
        value = Decimal(str(progress))
    except (InvalidOperation, ValueError) as exc:
        raise MovementError("progress", "progress must be a number between 0 and 1") from exc
    if not value.is_finite() or value < 0 or value > 1:
        raise MovementError("progress", "progress must be a number between 0 and 1")
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@transaction.atomic
def entity_journey_start(
    *, entity_id: Any, edge_id: str, metadata: dict[str, Any] | None = None
) -> Movement:
    entity = _locked_entity(entity_id)
    _, edges = _graph_ids(entity.canvas)
    if edge_id not in edges:
        raise MovementError("edge_id", f"edge {edge_id!r} is not on the entity's canvas")
    return _record(
        entity,
        JourneyEventType.EDGE_START,
        edge_id=edge_id,
        progress=Decimal("0.00"),
        metadata=metadata,
    )


@transaction.atomic
def entity_progress(
    *,
    entity_id: Any,
    progress: Any,
    edge_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    value = _progress_value(progress)
    entity = _locked_entity(entity_id)
    if entity.current_edge_id is None:
        raise MovementError("edge_id", "the entity is not travelling on an edge")
    if edge_id is not None and edge_id != entity.current_edge_id:
        raise MovementError(
            "edge_id", f"the entity travels on {entity.current_edge_id!r}, not {edge_id!r}"
        )
    return _record(
        entity,
        JourneyEventType.EDGE_PROGRESS,
        edge_id=entity.current_edge_id,
        progress=value,
        metadata=metadata,
    )


@transaction.atomic
def entity_arrive(*, entity_id: Any, metadata: dict[str, Any] | None = None) -> Movement:
    """Arrive at the target node of the edge the entity travels on."""
    entity = _locked_entity(entity_id)
    if entity.current_edge_id is None:
        raise MovementError("arrive", "the entity is not travelling on an edge")
    nodes, edges = _graph_ids(entity.canvas)
    target = edges.get(entity.current_edge_id)
    if target is None or target not in nodes:
        raise MovementError(
            "arrive", f"edge {entity.current_edge_id!r} is no longer on the entity's canvas"
        )
    return _record(entity, JourneyEventType.NODE_ARRIVAL, node_id=target, metadata=metadata)


@transaction.atomic
def entity_complete(*, entity_id: Any, metadata: dict[str, Any] | None = None) -> Movement:
    entity = _locked_entity(entity_id)
    if entity.current_node_id is None:
        raise MovementError("complete", "the entity is not standing on a node")
    return _record(
        entity, JourneyEventType.NODE_COMPLETE, node_id=entity.current_node_id, metadata=metadata
    )


@transaction.atomic
def entity_manual_move(
    *,
    entity_id: Any,
    node_id: str,
    metadata: dict[str, Any] | None = None,
    entity_type: str | None = None,
) -> Movement:
    entity = _locked_entity(entity_id)
    nodes, _ = _graph_ids(entity.canvas)
    if node_id not in nodes:
        raise MovementError("node_id", f"node {node_id!r} is not on the entity's canvas")
    if entity_type:
        entity.entity_type = entity_type
    return _record(entity, JourneyEventType.MANUAL_MOVE, node_id=node_id, metadata=metadata)
