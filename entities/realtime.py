"""Live updates to websocket subscribers of a canvas (SPEC section 9).

Called from `transaction.on_commit` only, so nothing is sent for a rolled-back change.
"""

from __future__ import annotations

import logging

from entities.models import Entity, JourneyEvent

logger = logging.getLogger(__name__)


def canvas_group(canvas_id: object) -> str:
    return f"canvas.{canvas_id}"


def entity_updated(*, entity: Entity, event: JourneyEvent) -> None:
    """Broadcast `entity.updated` to the canvas group (wired up by the realtime issue)."""
    logger.debug("entity.updated %s %s", entity.pk, event.event_type)


def run_updated(
    *, run_id: object, flow_id: object, canvas_id: object | None, node_id: str | None, status: str
) -> None:
    """Broadcast `run.updated` to subscribers of the workflow (and of the entity's canvas)."""
    logger.debug("run.updated %s %s %s", run_id, node_id, status)
