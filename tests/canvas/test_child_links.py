"""SPEC 3: a node's `data.childFlowId` must name a child canvas of this canvas with the
same owner; saves through the API, the admin and the edit page refuse anything else."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from flows import services
from flows.graph import GraphInvalid
from flows.models import Flow
from stitch.models import User
from tests.factories import CanvasFactory, FlowFactory, UserFactory

pytestmark = pytest.mark.django_db


def linking(graph: dict[str, Any], value: Any, node: int = 0) -> dict[str, Any]:
    graph = json.loads(json.dumps(graph))
    graph["nodes"][node]["data"]["childFlowId"] = value
    return graph


def patch_graph(client: APIClient, flow: Flow, graph: dict[str, Any]) -> Any:
    return client.patch(f"/api/flows/{flow.pk}/", {"graph": graph}, format="json")


def test_a_node_may_open_a_child_canvas_of_the_same_owner(
    owner_client: APIClient, owner: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    child = FlowFactory.create(owner=owner, parent=canvas)
    response = patch_graph(owner_client, canvas, linking(canvas.graph, str(child.pk)))
    assert response.status_code == 200, response.json()
    canvas.refresh_from_db()
    assert canvas.graph["nodes"][0]["data"]["childFlowId"] == str(child.pk)


@pytest.mark.parametrize(
    "target",
    ["sibling", "grandchild", "parent", "itself", "unknown", "malformed", "number"],
)
def test_a_link_to_anything_but_a_child_is_a_400_naming_the_node(
    owner_client: APIClient, owner: User, target: str
) -> None:
    root = CanvasFactory.create(owner=owner)
    canvas = CanvasFactory.create(owner=owner, parent=root)
    child = FlowFactory.create(owner=owner, parent=canvas)
    values = {
        "sibling": str(FlowFactory.create(owner=owner, parent=root).pk),
        "grandchild": str(FlowFactory.create(owner=owner, parent=child).pk),
        "parent": str(root.pk),
        "itself": str(canvas.pk),
        "unknown": str(uuid.uuid4()),
        "malformed": "not-a-uuid",
        "number": 12,
    }
    before = canvas.graph
    response = patch_graph(owner_client, canvas, linking(canvas.graph, values[target], node=1))
    assert response.status_code == 400
    [problem] = response.json()["graph"]
    assert problem["node_id"] == "customers"
    assert "childFlowId" in problem["message"]
    canvas.refresh_from_db()
    assert canvas.graph == before


def test_a_child_of_another_owner_is_refused_even_when_its_parent_is_this_canvas(
    owner_client: APIClient, owner: User, other: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    # Not possible through the API (a parent must be the caller's); made directly.
    theirs = Flow.objects.create(owner=other, name="theirs", parent=canvas, canvas_type="detail")
    response = patch_graph(owner_client, canvas, linking(canvas.graph, str(theirs.pk)))
    assert response.status_code == 400
    assert response.json()["graph"][0]["node_id"] == "leads"


def test_a_new_canvas_cannot_link_to_anything_it_has_no_children(
    owner_client: APIClient, owner: User
) -> None:
    existing = FlowFactory.create(owner=owner)
    graph = linking(CanvasFactory.build().graph, str(existing.pk))
    body = {"name": "new", "canvas_type": "bmc", "graph": graph}
    response = owner_client.post("/api/flows/", body, format="json")
    assert response.status_code == 400
    assert response.json()["graph"][0]["node_id"] == "leads"
    assert not Flow.objects.filter(name="new").exists()


def test_a_workflow_node_links_to_its_detail_canvas_and_gets_a_new_version(
    owner: User,
) -> None:
    workflow = FlowFactory.create(owner=owner)
    detail = FlowFactory.create(owner=owner, parent=workflow, canvas_type="detail")
    saved = services.flow_update(flow=workflow, graph=linking(workflow.graph, str(detail.pk)))
    assert saved.current_version is not None and saved.current_version.number == 2


def test_a_rename_is_not_refused_for_a_link_whose_child_went_away_but_a_graph_edit_is(
    owner_client: APIClient, owner: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    child = FlowFactory.create(owner=owner, parent=canvas)
    canvas = services.flow_update(flow=canvas, graph=linking(canvas.graph, str(child.pk)))
    services.flow_delete(flow=child)
    renamed = owner_client.patch(f"/api/flows/{canvas.pk}/", {"name": "Renamed"}, format="json")
    assert renamed.status_code == 200
    edited = json.loads(json.dumps(canvas.graph))
    edited["nodes"][1]["data"]["label"] = "Clients"
    response = patch_graph(owner_client, canvas, edited)
    assert response.status_code == 400
    assert response.json()["graph"][0]["node_id"] == "leads"


def test_the_service_raises_with_every_bad_link(owner: User) -> None:
    canvas = CanvasFactory.create(owner=owner)
    graph = linking(linking(canvas.graph, "x"), "y", node=2)
    with pytest.raises(GraphInvalid) as caught:
        services.flow_update(flow=canvas, graph=graph)
    assert [p.node_id for p in caught.value.problems] == ["leads", "churned"]


@pytest.fixture
def operator_browser() -> Client:
    browser = Client()
    browser.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return browser


def admin_post(flow: Flow, graph: dict[str, Any]) -> dict[str, str]:
    return {
        "name": flow.name,
        "canvas_type": flow.canvas_type,
        "owner": str(flow.owner_id),
        "parent": str(flow.parent_id or ""),
        "graph": json.dumps(graph),
    }


def test_the_admin_form_shows_a_bad_link_on_the_graph_field_and_in_the_editor(
    operator_browser: Client, owner: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    stranger = FlowFactory.create(owner=owner)
    url = f"/admin/flows/flow/{canvas.pk}/change/"
    response = operator_browser.post(
        url, admin_post(canvas, linking(canvas.graph, str(stranger.pk)))
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["graph"]
    assert errors == [f"node leads: childFlowId {stranger.pk} is not a child canvas of this canvas"]
    config = json.loads(
        response.content.decode()
        .split('<script id="editor-config" type="application/json">')[1]
        .split("</script>")[0]
    )
    assert config["problems"] == [
        {
            "message": f"childFlowId {stranger.pk} is not a child canvas of this canvas",
            "node_id": "leads",
        }
    ]


def test_the_admin_offers_the_canvas_children_and_lists_them(
    operator_browser: Client, owner: User
) -> None:
    canvas = CanvasFactory.create(owner=owner)
    child = FlowFactory.create(owner=owner, parent=canvas, name="Lead nurturing")
    canvas = services.flow_update(flow=canvas, graph=linking(canvas.graph, str(child.pk)))
    page = operator_browser.get(f"/admin/flows/flow/{canvas.pk}/change/").content.decode()
    assert '"children": [{"id": "' + str(child.pk) + '", "name": "Lead nurturing"' in page
    assert "Lead nurturing</a> (Workflow) — opened by node <code>leads</code>" in page
    assert f"/admin/flows/flow/add/?parent={canvas.pk}" in page
    child_page = operator_browser.get(f"/admin/flows/flow/{child.pk}/change/").content.decode()
    assert f'href="/admin/flows/flow/{canvas.pk}/change/">{canvas.name}</a>' in child_page
