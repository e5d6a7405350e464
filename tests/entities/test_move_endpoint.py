"""POST /api/entities/{id}/move/: the five body shapes, refusals and ownership."""

from __future__ import annotations

import pytest

from entities.models import JourneyEvent
from tests.factories import CanvasFactory, EntityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entity(owner):
    return EntityFactory.create(canvas=CanvasFactory.create(owner=owner))


def move(client, entity, body):
    return client.post(f"/api/entities/{entity.pk}/move/", body, format="json")


def test_a_full_journey_through_the_endpoint(owner_client, entity) -> None:
    started = move(owner_client, entity, {"edge_id": "e-leads-customers"})
    assert started.status_code == 200, started.json()
    assert started.json()["entity"]["current_edge_id"] == "e-leads-customers"
    assert started.json()["event"]["event_type"] == "edge_start"

    progressed = move(owner_client, entity, {"edge_id": "e-leads-customers", "progress": 0.5})
    assert float(progressed.json()["entity"]["edge_progress"]) == 0.5
    assert progressed.json()["event"]["event_type"] == "edge_progress"

    arrived = move(owner_client, entity, {"arrive": True})
    assert arrived.json()["entity"]["current_node_id"] == "customers"
    assert arrived.json()["entity"]["current_edge_id"] is None
    assert arrived.json()["event"]["event_type"] == "node_arrival"

    completed = move(owner_client, entity, {"complete": True})
    assert completed.json()["event"]["event_type"] == "node_complete"
    assert completed.json()["entity"]["current_node_id"] == "customers"

    manual = move(owner_client, entity, {"node_id": "churned"})
    assert manual.json()["entity"]["current_node_id"] == "churned"
    assert manual.json()["event"]["event_type"] == "manual_move"
    assert manual.json()["event"]["entity_id"] == str(entity.pk)
    assert JourneyEvent.objects.filter(entity=entity).count() == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"node_id": "nowhere"}, "node_id"),
        ({"edge_id": "nowhere"}, "edge_id"),
        ({"edge_id": "nowhere", "progress": 0.3}, "edge_id"),
        ({"arrive": True}, "arrive"),
        ({"arrive": False}, "arrive"),
        ({"complete": True}, "complete"),
        ({"node_id": "leads", "edge_id": "e-leads-customers"}, "node_id"),
        ({"arrive": True, "complete": True}, "arrive"),
        ({"progress": 0.5}, "edge_id"),
        ({"node_id": ""}, "node_id"),
        ({"node_id": 5}, "node_id"),
        ({"node_id": "leads", "colour": "red"}, "colour"),
        ({}, "non_field_errors"),
        ([1, 2], "non_field_errors"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(owner_client, entity, body, field) -> None:
    response = move(owner_client, entity, body)
    assert response.status_code == 400
    assert field in response.json()
    assert not JourneyEvent.objects.exists()


@pytest.mark.parametrize("progress", [-0.1, 1.5, "fast", None, True])
def test_bad_progress_is_400_naming_progress(owner_client, entity, progress) -> None:
    move(owner_client, entity, {"edge_id": "e-leads-customers"})
    response = move(owner_client, entity, {"edge_id": "e-leads-customers", "progress": progress})
    assert response.status_code == 400
    assert "progress" in response.json()


def test_progress_on_an_edge_the_entity_is_not_on_is_refused(owner_client, entity) -> None:
    move(owner_client, entity, {"edge_id": "e-leads-customers"})
    response = move(owner_client, entity, {"edge_id": "e-customers-churned", "progress": 0.2})
    assert response.status_code == 400
    assert "edge_id" in response.json()


def test_another_users_entity_is_404(other_client, entity) -> None:
    assert move(other_client, entity, {"node_id": "leads"}).status_code == 404
    assert not JourneyEvent.objects.exists()


def test_an_unknown_entity_is_404(owner_client) -> None:
    url = "/api/entities/00000000-0000-0000-0000-000000000000/move/"
    assert owner_client.post(url, {"node_id": "leads"}, format="json").status_code == 404


def test_anonymous_callers_are_refused(anon_client, entity) -> None:
    assert move(anon_client, entity, {"node_id": "leads"}).status_code in (401, 403)


def test_deleting_through_the_api_deletes_the_entity(owner_client, entity) -> None:
    assert owner_client.delete(f"/api/entities/{entity.pk}/").status_code == 204
    assert owner_client.get(f"/api/entities/{entity.pk}/").status_code == 404
