"""Entity movement (SPEC section 6): one transaction, one entity row lock, one journey event.

Every operation re-reads the entity with `select_for_update`, validates against the
entity's canvas graph, writes the entity row and exactly one JourneyEvent, and hands
the broadcast to `transaction.on_commit` so nothing is sent for a rolled-back move.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from entities import realtime
from entities.models import Entity, JourneyEvent, JourneyEventType
from flows.models import Flow
from stitch import jsondata
from stitch.errors import FieldError

# How many recent events the entity row keeps in `journey`; the full history is
# stitch_journey_events. Small enough that rewriting the row stays cheap.
JOURNEY_TAIL = 20
MOVE_FIELDS = [
    "current_node_id",
    "current_edge_id",
    "edge_progress",
    "node_entered_at",
    "sequence",
    "journey",
    "entity_type",
    "updated_at",
]
# What a REST or admin edit may change. Position, journey and sequence belong to the
# movement operations; everything else on the row is bookkeeping.
EDITABLE_FIELDS = ("name", "email", "avatar_url", "entity_type", "metadata")
# The unique constraint on (canvas, email), see entities.models.
EMAIL_CONSTRAINT = "uniq_stitch_entities_canvas_email"


class MovementError(FieldError):
    """A refused move; `field` names the request field at fault."""


@dataclass(frozen=True)
class Movement:
    entity: Entity
    event: JourneyEvent


@dataclass(frozen=True)
class Position:
    """Where the entity stands after a move (exactly one of node / edge, or neither)."""

    node_id: str | None = None
    edge_id: str | None = None
    progress: Decimal | None = None


def canvas_graph_ids(canvas: Flow) -> tuple[list[str], dict[str, Any]]:
    """Node ids and {edge id: target node id} of a canvas graph, both in graph order
    (tolerates odd JSON)."""
    graph = canvas.graph if isinstance(canvas.graph, dict) else {}
    nodes = [n["id"] for n in graph.get("nodes") or [] if _has_id(n)]
    edges = {e["id"]: e.get("target") for e in graph.get("edges") or [] if _has_id(e)}
    return nodes, edges


def _has_id(item: Any) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str)


def _locked_entity(entity_id: Any) -> Entity:
    # Row lock on the entity only (`of=self`): two moves of one entity serialise, so
    # neither overwrites the other's position with a stale read and the journey tail
    # and sequence number stay in commit order; moves of other entities on the same
    # canvas never wait on the canvas row.
    try:
        return (
            Entity.objects.select_for_update(of=("self",))
            .select_related("canvas")
            .get(pk=entity_id)
        )
    except (Entity.DoesNotExist, ValueError, ValidationError) as exc:
        raise MovementError("entity_id", f"entity {entity_id} does not exist") from exc


def position_apply(entity: Entity, position: Position, now: Any) -> tuple[str | None, float | None]:
    """Put `entity` at `position` in memory (a move's own fields, its sequence bumped);
    return the node it leaves and how long it stood there (None, None when it stays).

    Shared by every move, one by one here and set-based in webhooks.batch, so both
    write the same row.
    """
    departure = _stay_change(entity, position, now)
    entity.current_node_id = position.node_id
    entity.current_edge_id = position.edge_id
    entity.edge_progress = position.progress
    entity.sequence += 1
    return departure


def journey_append(entity: Entity, event: JourneyEvent) -> None:
    """Keep `event` in the entity's journey tail (its last JOURNEY_TAIL events)."""
    entity.journey = [*(entity.journey or []), journey_summary(event)][-JOURNEY_TAIL:]


def _stay_change(entity: Entity, position: Position, now: Any) -> tuple[str | None, float | None]:
    """Update when the entity entered its node; return the node it leaves and its stay.

    A move that keeps the entity on its node (`node_complete`, a manual move onto the
    same node) is not a departure.
    """
    left = entity.current_node_id
    if left is not None and position.node_id == left:
        return None, None
    entered, entity.node_entered_at = entity.node_entered_at, now if position.node_id else None
    if left is None:
        return None, None
    return left, max((now - entered).total_seconds(), 0.0) if entered else None


def _record(
    entity: Entity,
    event_type: str,
    position: Position,
    *,
    event_edge_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    now = timezone.now()
    previous_node_id, seconds = position_apply(entity, position, now)
    event = JourneyEvent.objects.create(
        entity=entity,
        canvas_id=entity.canvas_id,
        event_type=event_type,
        node_id=position.node_id,
        edge_id=position.edge_id or event_edge_id,
        progress=position.progress,
        metadata=metadata or {},
        timestamp=now,
        previous_node_id=previous_node_id,
        seconds_in_previous_node=seconds,
    )
    journey_append(entity, event)
    # Only the columns a move owns: a concurrent API edit of the name or metadata
    # (which takes no lock) is not overwritten with what this move read.
    entity.save(update_fields=MOVE_FIELDS)
    entity_announce(entity=entity, event=event)
    return Movement(entity=entity, event=event)


def entity_announce(*, entity: Entity, event: JourneyEvent | None = None) -> None:
    """`entity.updated` after commit, numbered with the sequence this change wrote."""
    sequence = entity.sequence
    transaction.on_commit(
        lambda: realtime.entity_updated(entity=entity, event=event, sequence=sequence)
    )


def journey_summary(event: JourneyEvent) -> dict[str, Any]:
    return {
        "id": str(event.id),
        "event_type": event.event_type,
        "node_id": event.node_id,
        "edge_id": event.edge_id,
        "progress": float(event.progress) if event.progress is not None else None,
        "timestamp": event.timestamp.isoformat(),
    }


def progress_value(progress: Any, *, field: str = "progress") -> Decimal:
    """0..1 rounded to the column's two decimals; MovementError naming `field` else."""
    refusal = MovementError(field, f"{field} must be a number between 0 and 1")
    if isinstance(progress, bool) or not isinstance(progress, int | float | Decimal | str):
        raise refusal
    try:
        value = Decimal(str(progress))
    except (InvalidOperation, ValueError) as exc:
        raise refusal from exc
    if not value.is_finite() or value < 0 or value > 1:
        raise refusal
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _metadata(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    if metadata is not None and not isinstance(metadata, dict):
        raise MovementError("metadata", "metadata must be an object")
    found = jsondata.problem(metadata, path="metadata")
    if found is not None:
        raise MovementError("metadata", str(found))
    return metadata


@transaction.atomic
def entity_journey_start(
    *, entity_id: Any, edge_id: str, metadata: dict[str, Any] | None = None
) -> Movement:
    """Put the entity on edge `edge_id` at progress 0 (`edge_start`)."""
    entity = _locked_entity(entity_id)
    return entity_journey_start_locked(entity=entity, edge_id=edge_id, metadata=metadata)


def entity_journey_start_locked(
    *, entity: Entity, edge_id: str, metadata: dict[str, Any] | None = None
) -> Movement:
    """`entity_journey_start` for a caller already inside its own transaction that holds
    the entity row: locked with `select_for_update` or inserted by that transaction
    (invisible to everyone else until it commits), read with its canvas.

    No savepoint and no second read of the row (webhook processing starts a journey per
    event). A refusal raises and must roll back the caller's whole transaction.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("entity_journey_start_locked needs the caller's transaction")
    _, edges = canvas_graph_ids(entity.canvas)
    if edge_id not in edges:
        raise MovementError("edge_id", f"edge {edge_id!r} is not on the entity's canvas")
    position = Position(edge_id=edge_id, progress=Decimal("0.00"))
    return _record(entity, JourneyEventType.EDGE_START, position, metadata=_metadata(metadata))


@transaction.atomic
def entity_progress(
    *,
    entity_id: Any,
    progress: Any,
    edge_id: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> Movement:
    """Move the entity along its current edge to `progress` (`edge_progress`)."""
    value = progress_value(progress)
    entity = _locked_entity(entity_id)
    if edge_id is not None:
        _, edges = canvas_graph_ids(entity.canvas)
        if edge_id not in edges:
            raise MovementError("edge_id", f"edge {edge_id!r} is not on the entity's canvas")
    if entity.current_edge_id is None:
        raise MovementError("edge_id", "the entity is not travelling on an edge")
    if edge_id is not None and edge_id != entity.current_edge_id:
        raise MovementError(
            "edge_id", f"the entity travels on {entity.current_edge_id!r}, not {edge_id!r}"
        )
    # The canvas may have been edited since the entity set off: never record progress
    # along an edge the graph no longer has.
    if entity.current_edge_id not in canvas_graph_ids(entity.canvas)[1]:
        raise MovementError(
            "edge_id", f"edge {entity.current_edge_id!r} is no longer on the entity's canvas"
        )
    position = Position(edge_id=entity.current_edge_id, progress=value)
    return _record(entity, JourneyEventType.EDGE_PROGRESS, position, metadata=_metadata(metadata))


@transaction.atomic
def entity_arrive(*, entity_id: Any, metadata: dict[str, Any] | None = None) -> Movement:
    """Arrive at the target node of the edge the entity travels on (`node_arrival`).

    The event keeps the edge it came along, so analytics count arrivals per edge.
    """
    entity = _locked_entity(entity_id)
    edge_id = entity.current_edge_id
    if edge_id is None:
        raise MovementError("arrive", "the entity is not travelling on an edge")
    nodes, edges = canvas_graph_ids(entity.canvas)
    target = edges.get(edge_id)
    if target is None or target not in nodes:
        raise MovementError("arrive", f"edge {edge_id!r} is no longer on the entity's canvas")
    return _record(
        entity,
        JourneyEventType.NODE_ARRIVAL,
        Position(node_id=target),
        event_edge_id=edge_id,
        metadata=_metadata(metadata),
    )


@transaction.atomic
def entity_complete(*, entity_id: Any, metadata: dict[str, Any] | None = None) -> Movement:
    """Mark the entity's work at its current node done (`node_complete`); it stays there."""
    entity = _locked_entity(entity_id)
    if entity.current_node_id is None:
        raise MovementError("complete", "the entity is not standing on a node")
    if entity.current_node_id not in canvas_graph_ids(entity.canvas)[0]:
        raise MovementError(
            "complete", f"node {entity.current_node_id!r} is no longer on the entity's canvas"
        )
    position = Position(node_id=entity.current_node_id)
    return _record(entity, JourneyEventType.NODE_COMPLETE, position, metadata=_metadata(metadata))


@transaction.atomic
def entity_manual_move(
    *,
    entity_id: Any,
    node_id: str,
    metadata: dict[str, Any] | None = None,
    entity_type: str | None = None,
) -> Movement:
    """An operator (or a node's `entityMovement`) puts the entity on node `node_id`."""
    entity = _locked_entity(entity_id)
    nodes, _ = canvas_graph_ids(entity.canvas)
    if node_id not in nodes:
        raise MovementError("node_id", f"node {node_id!r} is not on the entity's canvas")
    if entity_type:
        entity.entity_type = entity_type
    return _record(
        entity,
        JourneyEventType.MANUAL_MOVE,
        Position(node_id=node_id),
        metadata=_metadata(metadata),
    )


@transaction.atomic
def entity_delete(*, entity_id: Any) -> None:
    """Delete an entity (its journey events cascade) and tell subscribers after commit."""
    # Lock first: a move racing with the delete either commits before it (and its
    # broadcast precedes `entity.deleted`) or finds no row and is refused.
    entity = _locked_entity(entity_id)
    canvas_id, pk = entity.canvas_id, entity.pk
    entity.delete()
    transaction.on_commit(lambda: realtime.entity_deleted(entity_id=pk, canvas_id=canvas_id))


def email_normalise(email: str | None) -> str | None:
    """The one form an address is stored and looked up in: case never tells two people
    apart (SPEC 6). The webhook mapping lower-cases the same way."""
    if email is None:
        return None
    return email.strip().lower() or None


def _saved(entity: Entity, **save_options: Any) -> None:
    """Save; a clash with another entity's e-mail on the canvas is a FieldError."""
    try:
        # Savepoint: a unique violation must not abort the caller's whole transaction.
        with transaction.atomic():
            entity.save(**save_options)
    except IntegrityError as exc:
        diag = getattr(exc.__cause__, "diag", None)
        if getattr(diag, "constraint_name", None) == EMAIL_CONSTRAINT:
            raise FieldError(
                "email", "another entity on this canvas already has this e-mail address"
            ) from exc
        raise


def _initial_position(
    canvas: Flow, *, node_id: Any, edge_id: Any, progress: Any
) -> tuple[str, Position] | None:
    """Validate a position given at creation like a move; None when none was given.

    A node is recorded as `manual_move` (someone put the entity there), an edge as
    `edge_start` at progress 0 or `edge_progress` further along (SPEC 6's table).
    """
    if node_id is None and edge_id is None:
        if progress is not None:
            raise MovementError("edge_progress", "edge_progress needs current_edge_id")
        return None
    if node_id is not None and edge_id is not None:
        raise MovementError("current_edge_id", "give current_node_id or current_edge_id, not both")
    nodes, edges = canvas_graph_ids(canvas)
    if node_id is not None:
        if progress is not None:
            raise MovementError("edge_progress", "an entity on a node has no edge_progress")
        if node_id not in nodes:
            raise MovementError("current_node_id", f"node {node_id!r} is not on the canvas")
        return JourneyEventType.MANUAL_MOVE, Position(node_id=node_id)
    if edge_id not in edges:
        raise MovementError("current_edge_id", f"edge {edge_id!r} is not on the canvas")
    value = Decimal("0.00") if progress is None else progress_value(progress, field="edge_progress")
    kind = JourneyEventType.EDGE_START if value == 0 else JourneyEventType.EDGE_PROGRESS
    return kind, Position(edge_id=edge_id, progress=value)


@transaction.atomic
def entity_create(
    *,
    canvas: Flow,
    name: str,
    entity_type: str,
    email: str | None = None,
    avatar_url: str | None = None,
    metadata: dict[str, Any] | None = None,
    node_id: str | None = None,
    edge_id: str | None = None,
    progress: Any = None,
) -> Entity:
    """Create an entity, optionally already standing somewhere (SPEC 6): the position is
    validated against the canvas and recorded as its first journey event."""
    placed = _initial_position(canvas, node_id=node_id, edge_id=edge_id, progress=progress)
    entity = Entity(
        canvas=canvas,
        name=name,
        entity_type=entity_type,
        email=email_normalise(email),
        avatar_url=avatar_url,
        metadata=_metadata(metadata) or {},
    )
    _saved(entity, force_insert=True)
    if placed is None:
        entity_announce(entity=entity)
    else:
        event_type, position = placed
        _record(entity, event_type, position, metadata={"initial_position": True})
    return entity


@transaction.atomic
def entity_update(*, entity_id: Any, changes: dict[str, Any]) -> Entity:
    """Apply an edit (EDITABLE_FIELDS only) and announce it.

    Row lock: a move of this entity commits wholly before or after the edit. Only the
    edited columns are written (plus `sequence`, bumped so sockets order the edit among
    the moves), so an edit never puts back a position, journey or sequence it read
    before a concurrent move.
    """
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise FieldError(unknown[0], "this field cannot be edited")
    entity = _locked_entity(entity_id)
    changes = dict(changes)
    if "email" in changes:
        changes["email"] = email_normalise(changes["email"])
    if "metadata" in changes:
        changes["metadata"] = _metadata(changes["metadata"]) or {}
    for field, value in changes.items():
        setattr(entity, field, value)
    entity.sequence += 1
    _saved(entity, update_fields=[*changes, "sequence", "updated_at"])
    entity_announce(entity=entity)
    return entity


def entity_cascade_announce(*, canvas_id: Any) -> None:
    """Call inside the transaction that deletes canvas `canvas_id`, after locking its
    row: every entity on it goes with it (ON DELETE CASCADE), and subscribers are told
    `entity.deleted` for each once that transaction commits.

    The canvas row lock keeps the list complete: an entity inserted meanwhile waits on
    it for its foreign-key check and then fails.
    """
    entity_ids = list(Entity.objects.filter(canvas_id=canvas_id).values_list("pk", flat=True))
    transaction.on_commit(
        lambda: realtime.entities_deleted(entity_ids=entity_ids, canvas_id=canvas_id)
    )
