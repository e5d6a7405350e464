"""`POST /api/flows/validate/` and `POST /api/flows/{id}/validate/`: the editor's check of
a graph before saving, by the same code as every save, saving nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from flows.models import Flow, FlowVersion
from stitch.models import User
from tests.factories import CanvasFactory, FlowFactory, linear_workflow_graph

pytestmark = pytest.mark.django_db


def cyclic_graph() -> dict[str, Any]:
    graph = linear_workflow_graph()
    graph["edges"].append({"id": "b-a", "source": "b", "target": "a"})
    return graph


def check(client: APIClient, url: str, body: Any) -> Any:
    return client.post(url, body, format="json")


def test_a_valid_graph_is_reported_valid_and_nothing_is_saved(
    owner_client: APIClient, owner: User
) -> None:
    flow = FlowFactory.create(owner=owner)
    graph = linear_workflow_graph()
    graph["nodes"][0]["data"]["label"] = "Changed"
    response = check(owner_client, f"/api/flows/{flow.pk}/validate/", {"graph": graph})
    assert response.status_code == 200
    assert response.json() == {"valid": True, "problems": []}
    flow.refresh_from_db()
    assert flow.graph["nodes"][0]["data"]["label"] == "A"
    assert FlowVersion.objects.filter(flow=flow).count() == 1


def test_every_problem_is_listed_naming_its_node_or_edge(owner_client: APIClient) -> None:
    graph = cyclic_graph()
    graph["nodes"].append({"id": "s", "type": "Splitter", "data": {}})
    graph["edges"].append({"id": "dangling", "source": "a", "target": "gone"})
    response = check(owner_client, "/api/flows/validate/", {"graph": graph})
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert {"message": "node is part of a cycle", "node_id": "a"} in body["problems"]
    assert {"message": "node is part of a cycle", "node_id": "b"} in body["problems"]
    assert {"message": "Splitter needs an arrayPath", "node_id": "s"} in body["problems"]
    assert {"message": "target 'gone' is not a node", "edge_id": "dangling"} in body["problems"]


def test_the_checks_follow_the_canvas_type_the_flows_own_by_default(
    owner_client: APIClient, owner: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    graph = {"nodes": [{"id": "w", "type": "Worker", "data": {}}], "edges": []}
    url = f"/api/flows/{canvas.pk}/validate/"
    assert check(owner_client, url, {"graph": graph}).json()["valid"] is True  # a BMC
    as_workflow = check(owner_client, url, {"graph": graph, "canvas_type": "workflow"}).json()
    assert as_workflow["problems"] == [
        {"message": "Worker needs a webhookUrl or a known workerType", "node_id": "w"}
    ]


def test_a_graph_that_is_not_an_object_is_a_problem_not_an_error(
    owner_client: APIClient,
) -> None:
    response = check(owner_client, "/api/flows/validate/", {"graph": [1, 2]})
    assert response.status_code == 200
    assert response.json()["problems"] == [
        {"message": "graph must be an object with nodes and edges"}
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "graph"),
        ({"graph": None}, "graph"),
        ({"graph": {}, "canvas_type": "kanban"}, "canvas_type"),
    ],
)
def test_a_body_it_cannot_use_is_a_400_naming_the_field(
    owner_client: APIClient, body: dict[str, Any], field: str
) -> None:
    response = check(owner_client, "/api/flows/validate/", body)
    assert response.status_code == 400
    assert field in response.json()


def test_json_that_does_not_parse_is_a_400(owner_client: APIClient) -> None:
    response = owner_client.post(
        "/api/flows/validate/", data="{nodes", content_type="application/json"
    )
    assert response.status_code == 400


def test_someone_elses_flow_is_404_and_anonymous_callers_are_refused(
    other_client: APIClient, anon_client: APIClient, owner: User
) -> None:
    flow = FlowFactory.create(owner=owner)
    body = {"graph": linear_workflow_graph()}
    assert check(other_client, f"/api/flows/{flow.pk}/validate/", body).status_code == 404
    assert check(anon_client, f"/api/flows/{flow.pk}/validate/", body).status_code == 401
    assert check(anon_client, "/api/flows/validate/", body).status_code == 401


def test_drill_down_links_are_checked_against_the_flows_children(
    owner_client: APIClient, owner: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    child = FlowFactory.create(owner=owner, parent=canvas)
    stranger = FlowFactory.create(owner=owner)  # the owner's, but not a child
    graph = canvas.graph
    graph["nodes"][0]["data"]["childFlowId"] = str(child.pk)
    graph["nodes"][1]["data"]["childFlowId"] = str(stranger.pk)
    problems = check(owner_client, f"/api/flows/{canvas.pk}/validate/", {"graph": graph}).json()
    assert problems["problems"] == [
        {
            "message": f"childFlowId {stranger.pk} is not a child canvas of this canvas",
            "node_id": "customers",
        }
    ]
    # A canvas not saved yet has no children: every link is a problem.
    unsaved = check(owner_client, "/api/flows/validate/", {"graph": graph, "canvas_type": "bmc"})
    assert [p["node_id"] for p in unsaved.json()["problems"]] == ["leads", "customers"]
    assert Flow.objects.count() == 3
