"""POST /api/entities/ may place the new entity (SPEC 6): validated against the canvas
like a move (400 naming the field) and recorded as its first journey event."""

from __future__ import annotations

from typing import Any

import pytest

from entities.models import Entity, JourneyEvent
from tests.factories import CanvasFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


def create(client, canvas, **extra: Any):
    body = {"canvas_id": str(canvas.pk), "name": "Ada", "entity_type": "customer", **extra}
    return client.post("/api/entities/", body, format="json")


def test_an_entity_created_on_a_node_stands_there_with_its_first_event(owner_client, canvas):
    response = create(owner_client, canvas, current_node_id="customers")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["current_node_id"], body["current_edge_id"]) == ("customers", None)
    event = JourneyEvent.objects.get(entity_id=body["id"])
    assert (event.event_type, event.node_id, event.canvas_id) == (
        "manual_move",
        "customers",
        canvas.pk,
    )
    assert [item["id"] for item in body["journey"]] == [str(event.id)]


def test_an_entity_created_on_an_edge_keeps_its_progress(owner_client, canvas) -> None:
    response = create(owner_client, canvas, current_edge_id="e-leads-customers", edge_progress=0.4)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["current_edge_id"], body["edge_progress"]) == ("e-leads-customers", "0.40")
    event = JourneyEvent.objects.get(entity_id=body["id"])
    assert (event.event_type, event.edge_id, str(event.progress)) == (
        "edge_progress",
        "e-leads-customers",
        "0.40",
    )


def test_an_entity_created_on_an_edge_without_progress_starts_there(owner_client, canvas):
    response = create(owner_client, canvas, current_edge_id="e-leads-customers")
    assert response.status_code == 201, response.content
    assert response.json()["edge_progress"] == "0.00"
    assert JourneyEvent.objects.get().event_type == "edge_start"


def test_an_entity_created_without_a_position_has_no_journey(owner_client, canvas) -> None:
    response = create(owner_client, canvas)
    assert response.status_code == 201, response.content
    assert response.json()["journey"] == []
    assert not JourneyEvent.objects.exists()


@pytest.mark.parametrize(
    "position, field",
    [
        ({"current_node_id": "nowhere"}, "current_node_id"),
        ({"current_edge_id": "e-nowhere"}, "current_edge_id"),
        ({"current_edge_id": "e-leads-customers", "edge_progress": 1.5}, "edge_progress"),
        ({"current_edge_id": "e-leads-customers", "edge_progress": "lots"}, "edge_progress"),
        ({"current_node_id": "leads", "current_edge_id": "e-leads-customers"}, "current_edge_id"),
        ({"edge_progress": 0.5}, "edge_progress"),
        ({"current_node_id": "leads", "edge_progress": 0.5}, "edge_progress"),
        ({"current_node_id": 7}, "current_node_id"),
        ({"journey": [{"event_type": "node_arrival"}]}, "journey"),
    ],
)
def test_a_bad_initial_position_is_400_naming_the_field(owner_client, canvas, position, field):
    response = create(owner_client, canvas, **position)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not Entity.objects.exists()
    assert not JourneyEvent.objects.exists()
