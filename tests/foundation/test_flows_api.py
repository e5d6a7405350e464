"""/api/flows/ and /api/flows/{id}/versions/: CRUD, validation, versions, pagination."""

from __future__ import annotations

import copy

import pytest

from flows.models import Flow
from tests.factories import CanvasFactory, FlowFactory, RunFactory, bmc_graph, linear_workflow_graph

pytestmark = pytest.mark.django_db


def test_an_owner_creates_a_workflow_at_version_one(owner_client, owner) -> None:
    response = owner_client.post(
        "/api/flows/", {"name": "Onboarding", "graph": linear_workflow_graph()}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["canvas_type"] == "workflow"
    assert body["current_version"] == 1
    assert Flow.objects.get(pk=body["id"]).owner == owner


def test_a_bmc_canvas_and_its_child_workflow(owner_client) -> None:
    canvas = owner_client.post(
        "/api/flows/", {"name": "BMC", "canvas_type": "bmc", "graph": bmc_graph()}, format="json"
    ).json()
    child = owner_client.post(
        "/api/flows/",
        {"name": "Child", "graph": linear_workflow_graph(), "parent_id": canvas["id"]},
        format="json",
    )
    assert child.status_code == 201
    assert child.json()["parent_id"] == canvas["id"]
    assert canvas["current_version"] is None


def test_an_invalid_workflow_graph_is_400_listing_every_problem(owner_client) -> None:
    graph = {
        "nodes": [
            {"id": "a", "type": "Worker", "data": {}},
            {"id": "a", "type": "UX", "data": {}},
            {"id": "s", "type": "splitter", "data": {}},
        ],
        "edges": [{"id": "e1", "source": "a", "target": "missing"}],
    }
    response = owner_client.post("/api/flows/", {"name": "Bad", "graph": graph}, format="json")
    assert response.status_code == 400
    problems = response.json()["graph"]
    assert {"message": "duplicate node id", "node_id": "a"} in problems
    assert {"message": "target 'missing' is not a node", "edge_id": "e1"} in problems
    assert {"message": "Splitter needs an arrayPath", "node_id": "s"} in problems
    assert any(p.get("node_id") == "a" and "webhookUrl" in p["message"] for p in problems)
    assert not Flow.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "graph": [1, 2]}, "graph"),
        ({"name": "x", "graph": "nodes"}, "graph"),
        ({"name": "x", "graph": {"nodes": []}, "canvas_type": "spreadsheet"}, "canvas_type"),
        ({"graph": {"nodes": []}}, "name"),
        ({"name": "", "graph": {"nodes": []}}, "name"),
        ({"name": "x"}, "graph"),
        ({"name": "x", "graph": {"nodes": []}, "parent_id": "not-a-uuid"}, "parent_id"),
    ],
)
def test_bad_input_is_400_naming_the_field(owner_client, payload, field) -> None:
    response = owner_client.post("/api/flows/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_a_parent_owned_by_someone_else_is_refused(owner_client, other) -> None:
    theirs = CanvasFactory.create(owner=other)
    response = owner_client.post(
        "/api/flows/",
        {"name": "x", "graph": linear_workflow_graph(), "parent_id": str(theirs.id)},
        format="json",
    )
    assert response.status_code == 400
    assert "parent_id" in response.json()


def test_a_flow_cannot_become_its_own_ancestor(owner_client, owner) -> None:
    top = CanvasFactory.create(owner=owner)
    child = FlowFactory.create(owner=owner, parent=top)
    response = owner_client.patch(
        f"/api/flows/{top.id}/", {"parent_id": str(child.id)}, format="json"
    )
    assert response.status_code == 400
    assert "parent_id" in response.json()
    response = owner_client.patch(f"/api/flows/{top.id}/", {"parent_id": str(top.id)})
    assert response.status_code == 400


def test_saving_a_changed_graph_makes_a_new_version_and_a_rename_does_not(
    owner_client, owner
) -> None:
    flow = FlowFactory.create(owner=owner)
    url = f"/api/flows/{flow.id}/"
    renamed = owner_client.patch(url, {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200
    assert renamed.json()["current_version"] == 1
    graph = copy.deepcopy(flow.graph)
    graph["nodes"][0]["data"]["label"] = "First"
    changed = owner_client.put(url, {"name": "Renamed", "graph": graph}, format="json")
    assert changed.json()["current_version"] == 2
    versions = owner_client.get(f"{url}versions/").json()
    assert versions["count"] == 2
    assert [v["number"] for v in versions["results"]] == [2, 1]
    assert versions["results"][1]["graph"]["nodes"][0]["data"]["label"] == "A"
    one = owner_client.get(f"{url}versions/1/")
    assert one.status_code == 200
    assert one.json()["flow_id"] == str(flow.id)


def test_an_invalid_update_keeps_the_flow_as_it_was(owner_client, owner) -> None:
    flow = FlowFactory.create(owner=owner)
    bad = {"nodes": [{"id": "w", "type": "Worker", "data": {"webhookUrl": "gopher://x"}}]}
    response = owner_client.patch(f"/api/flows/{flow.id}/", {"graph": bad}, format="json")
    assert response.status_code == 400
    assert response.json()["graph"] == [
        {"message": "webhookUrl must be an http(s) URL", "node_id": "w"}
    ]
    flow.refresh_from_db()
    assert flow.graph == linear_workflow_graph()


def test_versions_are_read_only(owner_client, owner) -> None:
    flow = FlowFactory.create(owner=owner)
    url = f"/api/flows/{flow.id}/versions/"
    assert owner_client.post(url, {"graph": {}}, format="json").status_code == 405
    assert owner_client.delete(f"{url}1/").status_code == 405
    assert owner_client.get(f"{url}9/").status_code == 404


def test_lists_are_paginated_with_count_next_previous_results(owner_client, owner) -> None:
    for _ in range(3):
        CanvasFactory.create(owner=owner)
    first = owner_client.get("/api/flows/?page_size=2").json()
    assert first["count"] == 3
    assert len(first["results"]) == 2
    assert first["previous"] is None
    second = owner_client.get(first["next"]).json()
    assert len(second["results"]) == 1
    assert second["next"] is None
    assert second["previous"]


def test_flows_filter_by_canvas_type_and_parent(owner_client, owner) -> None:
    canvas = CanvasFactory.create(owner=owner)
    child = FlowFactory.create(owner=owner, parent=canvas)
    bmcs = owner_client.get("/api/flows/?canvas_type=bmc").json()["results"]
    assert [f["id"] for f in bmcs] == [str(canvas.id)]
    children = owner_client.get(f"/api/flows/?parent_id={canvas.id}").json()["results"]
    assert [f["id"] for f in children] == [str(child.id)]
    bad = owner_client.get("/api/flows/?canvas_type=spreadsheet")
    assert bad.status_code == 400
    assert "canvas_type" in bad.json()


def test_deleting_a_flow_removes_its_versions_and_runs(owner_client, owner) -> None:
    run = RunFactory.create(flow=FlowFactory.create(owner=owner))
    response = owner_client.delete(f"/api/flows/{run.flow_id}/")
    assert response.status_code == 204
    assert not Flow.objects.filter(pk=run.flow_id).exists()


def test_listing_flows_costs_the_same_queries_for_many_rows(
    owner_client, owner, django_assert_max_num_queries
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    for _ in range(15):
        FlowFactory.create(owner=owner, parent=canvas)
    # auth token + count + page (current_version joined, parent as id only)
    with django_assert_max_num_queries(4):
        response = owner_client.get("/api/flows/")
    assert response.json()["count"] == 16


@pytest.mark.parametrize("graph", ["nodes", [1], 3])
def test_a_graph_that_is_not_an_object_is_reported_like_every_graph_problem(
    owner_client, graph
) -> None:
    response = owner_client.post("/api/flows/", {"name": "x", "graph": graph}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "graph": [{"message": "graph must be an object with nodes and edges"}]
    }
