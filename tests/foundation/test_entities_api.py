"""/api/entities/ CRUD and /api/journey-events/ (read-only, filters)."""

from __future__ import annotations

import pytest

from entities import services as movement
from entities.models import Entity, JourneyEvent
from tests.factories import CanvasFactory, EntityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def canvas(owner):
    return CanvasFactory.create(owner=owner)


def test_an_owner_creates_an_entity_on_their_canvas(owner_client, canvas) -> None:
    response = owner_client.post(
        "/api/entities/",
        {
            "canvas_id": str(canvas.id),
            "name": "Ada",
            "email": "ada@example.com",
            "entity_type": "lead",
            "metadata": {"plan": "pro"},
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["canvas_id"] == str(canvas.id)
    assert body["current_node_id"] is None
    assert Entity.objects.get(pk=body["id"]).metadata == {"plan": "pro"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"metadata": ["not", "an", "object"]}, "metadata"),
        ({"metadata": "plan=pro"}, "metadata"),
        ({"email": "not-an-email"}, "email"),
        ({"name": ""}, "name"),
        ({"canvas_id": "nope"}, "canvas_id"),
        ({"canvas_id": "6f1c1b38-0000-4000-8000-000000000000"}, "canvas_id"),
    ],
)
def test_bad_entity_input_is_400_naming_the_field(owner_client, canvas, change, field) -> None:
    payload = {"canvas_id": str(canvas.id), "name": "Ada", "entity_type": "lead", **change}
    response = owner_client.post("/api/entities/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_an_entity_cannot_be_put_on_someone_elses_canvas(owner_client, other) -> None:
    theirs = CanvasFactory.create(owner=other)
    response = owner_client.post(
        "/api/entities/",
        {"canvas_id": str(theirs.id), "name": "Ada", "entity_type": "lead"},
        format="json",
    )
    assert response.status_code == 400
    assert "canvas_id" in response.json()
    assert not Entity.objects.exists()


def test_position_fields_cannot_be_written_through_crud(owner_client, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    response = owner_client.patch(
        f"/api/entities/{entity.id}/",
        {"current_node_id": "customers", "edge_progress": "0.5", "name": "Renamed"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"current_node_id", "edge_progress"}
    entity.refresh_from_db()
    assert entity.name != "Renamed"
    assert entity.current_node_id is None


def test_an_entity_cannot_change_canvas(owner_client, owner, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    elsewhere = CanvasFactory.create(owner=owner)
    response = owner_client.patch(
        f"/api/entities/{entity.id}/", {"canvas_id": str(elsewhere.id)}, format="json"
    )
    assert response.status_code == 400
    assert "canvas_id" in response.json()


def test_entities_filter_by_canvas_type_position_and_email(owner_client, owner, canvas) -> None:
    here = EntityFactory.create(canvas=canvas, email="Ada@Example.com", entity_type="customer")
    movement.entity_manual_move(entity_id=here.id, node_id="customers")
    EntityFactory.create(canvas=CanvasFactory.create(owner=owner))

    def ids(query: str) -> list[str]:
        response = owner_client.get(f"/api/entities/?{query}")
        assert response.status_code == 200, response.json()
        return [e["id"] for e in response.json()["results"]]

    assert ids(f"canvas_id={canvas.id}") == [str(here.id)]
    assert ids("current_node_id=customers") == [str(here.id)]
    assert ids("email=ada@example.com") == [str(here.id)]
    assert ids("entity_type=customer") == [str(here.id)]
    bad = owner_client.get("/api/entities/?canvas_id=not-a-uuid")
    assert bad.status_code == 400
    assert "canvas_id" in bad.json()


def test_journey_events_list_every_move_newest_first(owner_client, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    movement.entity_journey_start(entity_id=entity.id, edge_id="e-leads-customers")
    movement.entity_progress(entity_id=entity.id, progress=0.5)
    movement.entity_arrive(entity_id=entity.id)
    response = owner_client.get(f"/api/journey-events/?entity_id={entity.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert [e["event_type"] for e in body["results"]] == [
        "node_arrival",
        "edge_progress",
        "edge_start",
    ]
    assert body["results"][1]["progress"] == "0.50"


def test_journey_events_filter_by_type_edge_and_time(owner_client, canvas) -> None:
    entity = EntityFactory.create(canvas=canvas)
    movement.entity_journey_start(entity_id=entity.id, edge_id="e-leads-customers")
    movement.entity_arrive(entity_id=entity.id)
    started = JourneyEvent.objects.get(event_type="edge_start")

    def count(query: str) -> int:
        response = owner_client.get(f"/api/journey-events/?{query}")
        assert response.status_code == 200, response.json()
        return int(response.json()["count"])

    assert count("event_type=edge_start") == 1
    assert count("event_type=edge_start&edge_id=e-leads-customers") == 1
    assert count("edge_id=e-customers-churned") == 0
    assert count("node_id=customers") == 1
    assert count(f"canvas_id={canvas.id}") == 2
    since = started.timestamp.isoformat().replace("+00:00", "Z")
    assert count(f"since={since}") == 2
    assert count(f"until={since}") == 0
    for bad in ("event_type=teleport", "since=yesterday", "entity_id=12"):
        response = owner_client.get(f"/api/journey-events/?{bad}")
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in response.json()


def test_journey_events_cannot_be_written(owner_client, canvas) -> None:
    response = owner_client.post("/api/journey-events/", {"event_type": "manual_move"})
    assert response.status_code == 405
