"""Background jobs that move entities (procrastinate; autodiscovered `tasks` module).

Runs move their entities through the engine's own jobs; this task is for moves an
operator or integration schedules for later (and is what the scale-out test defers
to prove that a move committed in a worker process reaches every web process).
"""

from __future__ import annotations

import logging
from typing import Any

from procrastinate.contrib.django import app

from entities import services

logger = logging.getLogger(__name__)


@app.task(name="entities.manual_move", queue="entities")
def entity_manual_move_job(*, entity_id: str, node_id: str, metadata: Any = None) -> None:
    """Move an entity to a node in the background (a `manual_move` journey event)."""
    try:
        services.entity_manual_move(entity_id=entity_id, node_id=node_id, metadata=metadata)
    except services.MovementError as exc:
        # The entity is gone or the node left the canvas since the job was queued:
        # retrying cannot help, and the refusal is not an error of the worker.
        logger.info("background move of %s refused: %s", entity_id, exc.message)
