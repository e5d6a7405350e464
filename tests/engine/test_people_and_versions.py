from __future__ import annotations

import pytest

from entities import services as entity_services
from entities.models import JourneyEvent
from flows import services as flow_services
from tests.engine.conftest import callback, detail, edge, node, start, states, workflow
from tests.factories import CanvasFactory, EntityFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_ux_node_waits_for_its_owner_to_complete_it(owner, owner_client, other_client, run_jobs):
    flow = workflow(
        owner, [node("review", "UX"), node("after", workerType="echo")], [edge("review", "after")]
    )
    run = start(owner_client, flow, input={"doc": 1})
    waiting = detail(owner_client, run["id"])
    assert waiting["status"] == "waiting"
    assert waiting["node_states"]["review"] == {
        **waiting["node_states"]["review"],
        "status": "waiting_for_user",
        "output": {"doc": 1},
    }
    path = f"/api/runs/{run['id']}/nodes/review/complete/"
    assert other_client.post(path, {"output": {}}, format="json").status_code == 404
    assert owner_client.post(path, [1], format="json").status_code == 400
    response = owner_client.post(path, {"output": {"approved": True}}, format="json")
    assert response.status_code == 200
    assert owner_client.post(path, {"output": {}}, format="json").status_code == 409
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["after"]["output"] == {"approved": True}


def test_editing_the_flow_during_a_run_does_not_change_that_run(
    owner, owner_client, worker, run_jobs
):
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)],
        [edge("a", "b")],
    )
    run = start(owner_client, flow)
    run_jobs()
    flow_services.flow_update(
        flow=flow,
        graph={
            "nodes": [node("a", workerType="echo"), node("z", workerType="echo")],
            "edges": [edge("a", "z")],
        },
    )
    callback(worker, "a", status="completed", output={"v": 1})
    run_jobs()
    assert [b["node_id"] for b in worker.bodies()] == ["a", "b"]
    assert set(states(owner_client, run["id"])) == {"a", "b"}
    assert detail(owner_client, run["id"])["flow_version"] == 1
    newer = start(owner_client, flow)
    assert set(newer["node_states"]) == {"a", "z"}
    assert newer["flow_version"] == 2


def test_a_run_moves_its_entity_along_the_edge_and_arrives_when_done(owner, owner_client, run_jobs):
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas)
    entity_services.entity_journey_start(entity_id=entity.id, edge_id="e-leads-customers")
    flow = workflow(
        owner, [node("a", workerType="echo"), node("b", workerType="echo")], [edge("a", "b")]
    )
    run = start(owner_client, flow, entity_id=str(entity.id))
    run_jobs()
    assert detail(owner_client, run["id"])["status"] == "completed"
    events = list(JourneyEvent.objects.filter(entity=entity).order_by("timestamp"))
    assert [(e.event_type, e.progress and float(e.progress)) for e in events] == [
        ("edge_start", 0.0),
        ("edge_progress", 0.5),
        ("edge_progress", 1.0),
        ("node_arrival", None),
    ]
    entity.refresh_from_db()
    assert entity.current_node_id == "customers"


def test_entity_movement_on_a_node_moves_the_entity_instead(owner, owner_client, worker, run_jobs):
    canvas = CanvasFactory.create(owner=owner)
    entity = EntityFactory.create(canvas=canvas, entity_type="lead")
    entity_services.entity_journey_start(entity_id=entity.id, edge_id="e-leads-customers")
    worker.always("a", 400, {"no": 1})
    move = {"onFailure": {"targetNodeId": "churned", "setEntityType": "lost"}}
    flow = workflow(owner, [node("a", webhookUrl=worker.url, entityMovement=move)], [])
    start(owner_client, flow, entity_id=str(entity.id))
    run_jobs()
    entity.refresh_from_db()
    assert (entity.current_node_id, entity.entity_type) == ("churned", "lost")
    assert JourneyEvent.objects.filter(entity=entity, event_type="manual_move").count() == 1


def test_runs_are_only_visible_and_startable_by_their_owner(
    owner, other, owner_client, other_client
):
    flow = workflow(owner, [node("a", "UX")], [])
    run = start(owner_client, flow)
    assert other_client.get(f"/api/runs/{run['id']}/").status_code == 404
    assert other_client.post(f"/api/flows/{flow.id}/runs/", {}, format="json").status_code == 404
    assert other_client.get("/api/runs/").json()["count"] == 0
    assert owner_client.get("/api/runs/").json()["count"] == 1
    assert owner_client.get(f"/api/flows/{flow.id}/runs/").json()["count"] == 1
    foreign = EntityFactory.create(canvas=CanvasFactory.create(owner=other))
    response = owner_client.post(
        f"/api/flows/{flow.id}/runs/", {"entity_id": str(foreign.id)}, format="json"
    )
    assert response.status_code == 400
    assert "entity_id" in response.json()


def test_only_workflows_can_run(owner, owner_client):
    canvas = CanvasFactory.create(owner=owner)
    response = owner_client.post(f"/api/flows/{canvas.id}/runs/", {}, format="json")
    assert response.status_code == 400
    assert "flow" in response.json()


def test_node_ids_with_a_slash_can_be_called_back_and_completed(
    owner, owner_client, worker, run_jobs
):
    flow = workflow(
        owner,
        [node("intake/fetch", webhookUrl=worker.url), node("intake/review", "UX")],
        [edge("intake/fetch", "intake/review")],
    )
    run = start(owner_client, flow)
    run_jobs()
    assert callback(worker, "intake/fetch", status="completed", output={"v": 1}).status_code == 200
    path = f"/api/runs/{run['id']}/nodes/intake/review/complete/"
    assert owner_client.post(path, {"output": {"ok": True}}, format="json").status_code == 200
    assert detail(owner_client, run["id"])["status"] == "completed"
