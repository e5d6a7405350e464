"""Entity metadata PostgreSQL's jsonb cannot store is a 400 naming `metadata`, never a 500."""

from __future__ import annotations

import pytest

from entities.models import Entity, JourneyEvent
from tests.factories import CanvasFactory, EntityFactory

pytestmark = pytest.mark.django_db

NUL_METADATA = {"note": "a\x00b"}


def test_creating_an_entity_with_a_nul_in_its_metadata_is_refused(owner_client, owner) -> None:
    canvas = CanvasFactory.create(owner=owner)
    body = {"canvas_id": str(canvas.pk), "name": "Ada", "entity_type": "lead"}
    response = owner_client.post(
        "/api/entities/", {**body, "metadata": NUL_METADATA}, format="json"
    )
    assert response.status_code == 400
    assert "metadata" in response.json()
    assert not Entity.objects.exists()


def test_a_move_with_a_nul_in_its_metadata_is_refused(owner_client, owner) -> None:
    entity = EntityFactory.create(canvas=CanvasFactory.create(owner=owner))
    response = owner_client.post(
        f"/api/entities/{entity.pk}/move/",
        {"node_id": "customers", "metadata": NUL_METADATA},
        format="json",
    )
    assert response.status_code == 400
    assert "metadata" in response.json()
    assert not JourneyEvent.objects.exists()
