"""Writes on users that span rows."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from entities.services import entity_cascade_announce
from flows.models import Flow
from stitch.models import User


@transaction.atomic
def user_delete(*, user_id: UUID) -> None:
    """Delete a user with everything they own; subscribers of their canvases are told
    `entity.deleted` for each entity that goes with them, once this commits.

    Locking the user row first keeps the list of canvases complete: a canvas created
    for them meanwhile waits on it for its foreign-key check and then fails.
    """
    locked = User.objects.select_for_update().get(pk=user_id)
    canvases = Flow.objects.select_for_update().filter(owner=locked)
    for canvas_id in canvases.values_list("pk", flat=True):
        entity_cascade_announce(canvas_id=canvas_id)
    locked.delete()
