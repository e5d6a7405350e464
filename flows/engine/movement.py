"""Runs move their entity (SPEC 6, "Runs move entities").

Called from `Step.finish()` inside the run's transaction; the entity services open
savepoints of their own and lock the entity row (run row first, then entity row:
the only order the engine takes them in, so the two never deadlock).
"""

from __future__ import annotations

import logging
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from entities import services as entity_services
from entities.models import Entity
from flows.models import Run

if TYPE_CHECKING:
    from flows.engine.state import Step

logger = logging.getLogger(__name__)
_CENTS = Decimal("0.01")


def progress_value(done: int, total: int) -> Decimal:
    if total <= 0:
        return Decimal("1.00")
    return (Decimal(min(done, total)) / Decimal(total)).quantize(_CENTS, rounding=ROUND_HALF_UP)


def entity_canvas_id(run: Run) -> Any:
    if run.entity_id is None:
        return None
    if Run._meta.get_field("entity").is_cached(run):
        # The entity in hand (`run_start`): an entity never changes canvas.
        return run.entity.canvas_id if run.entity is not None else None
    return Entity.objects.filter(pk=run.entity_id).values_list("canvas_id", flat=True).first()


def _on_edge(run: Run) -> bool:
    if run.entity_id is None:
        return False
    return Entity.objects.filter(pk=run.entity_id, current_edge_id__isnull=False).exists()


def _configured_move(step: Step, template_id: str, outcome: str) -> dict[str, Any] | None:
    config = step.plan.data(template_id).get("entityMovement")
    key = "onSuccess" if outcome == "completed" else "onFailure"
    move = config.get(key) if isinstance(config, dict) else None
    if isinstance(move, dict) and isinstance(move.get("targetNodeId"), str):
        return move
    return None


def apply(step: Step, *, run_completed: bool) -> None:
    """Configured moves for this step's outcomes; otherwise progress along the edge
    the entity travels on, and arrival at its target when the run completed."""
    run = step.run
    if run.entity_id is None:
        return
    moved = False
    for template_id, outcome in step.outcomes:
        move = _configured_move(step, template_id, outcome)
        if move is not None:
            moved = True
            _safely(
                entity_services.entity_manual_move,
                entity_id=run.entity_id,
                node_id=move["targetNodeId"],
                entity_type=move.get("setEntityType") or None,
                metadata={"run_id": str(run.pk), "node_id": template_id, "outcome": outcome},
            )
    if moved:
        return
    before = progress_value(step.done_before, run.total_count)
    after = progress_value(run.done_count, run.total_count)
    if (after == before and not run_completed) or not _on_edge(run):
        return
    meta = {"run_id": str(run.pk)}
    if after != before:
        _safely(
            entity_services.entity_progress, entity_id=run.entity_id, progress=after, metadata=meta
        )
    if run_completed:
        _safely(entity_services.entity_arrive, entity_id=run.entity_id, metadata=meta)


def _safely(service: Any, **kwargs: Any) -> None:
    """A refused move (say, a target node that is not on the entity's canvas) is
    logged; it never fails the run or the callback that caused it."""
    try:
        service(**kwargs)
    except entity_services.MovementError as exc:
        logger.warning("run %s could not move entity: %s", kwargs.get("metadata"), exc)
