"""The canvas pages without a browser: who may open them, what they link to, and that
the edit page saves through the same checks and services as the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from flows import services
from flows.models import Flow
from stitch.models import User
from tests.factories import CanvasFactory, FlowFactory, UserFactory, linear_workflow_graph

pytestmark = pytest.mark.django_db


def editor_config(html: str) -> dict[str, Any]:
    start = html.index('<script id="editor-config" type="application/json">')
    return json.loads(html[start:].split(">", 1)[1].split("</script>")[0])


@pytest.fixture
def hierarchy(owner: User) -> tuple[Flow, Flow, Flow]:
    """BMC -> workflow -> detail, each opened from a node of its parent."""
    bmc = CanvasFactory.create(owner=owner, name="BMC")
    workflow = FlowFactory.create(owner=owner, parent=bmc, name="Onboarding")
    detail = FlowFactory.create(
        owner=owner, parent=workflow, name="Checklist", canvas_type="detail"
    )
    for parent, child in ((bmc, workflow), (workflow, detail)):
        graph = json.loads(json.dumps(parent.graph))
        graph["nodes"][0]["data"]["childFlowId"] = str(child.pk)
        services.flow_update(flow=parent, graph=graph)
    return bmc, workflow, detail


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_edit_page_needs_a_sign_in_and_is_404_for_someone_elses_canvas(
    client: Client, owner: User
) -> None:
    flow = FlowFactory.create(owner=owner)
    response = client.get(f"/flows/{flow.pk}/edit/")
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/flows/{flow.pk}/edit/"
    stranger = signed_in(UserFactory.create())
    assert stranger.get(f"/flows/{flow.pk}/edit/").status_code == 404
    assert stranger.post(f"/flows/{flow.pk}/edit/", {"name": "x"}).status_code == 404


def test_the_edit_page_draws_the_editor_for_the_owner_with_its_children(
    owner: User, hierarchy: tuple[Flow, Flow, Flow]
) -> None:
    bmc, workflow, detail = hierarchy
    html = signed_in(owner).get(f"/flows/{workflow.pk}/edit/").content.decode()
    config = editor_config(html)
    assert config["validateUrl"] == f"/api/flows/{workflow.pk}/validate/"
    assert config["childUrl"] == "/flows/__id__/edit/"
    assert config["children"] == [
        {"id": str(detail.pk), "name": "Checklist", "canvas_type": "detail"}
    ]
    assert {"id": "leads", "label": "Leads"} in config["movementTargets"]  # the BMC's nodes
    assert config["canvasType"] == "workflow" and config["canvasTypeField"] is None
    assert '<input type="text" name="name"' in html  # one line, not a textarea
    assert f'<a href="/flows/{bmc.pk}/edit/">BMC</a>' in html  # breadcrumbs


def test_saving_on_the_edit_page_makes_a_version_and_a_refused_graph_keeps_the_input(
    owner: User,
) -> None:
    flow = FlowFactory.create(owner=owner)
    browser = signed_in(owner)
    cyclic = linear_workflow_graph()
    cyclic["edges"].append({"id": "b-a", "source": "b", "target": "a"})
    refused = browser.post(
        f"/flows/{flow.pk}/edit/", {"name": "Renamed", "graph": json.dumps(cyclic)}
    )
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "node a: node is part of a cycle" in html
    assert editor_config(html)["problems"] == [
        {"message": "node is part of a cycle", "node_id": "a"},
        {"message": "node is part of a cycle", "node_id": "b"},
    ]
    assert "&quot;b-a&quot;" in html  # the operator's graph is still there to fix
    flow.refresh_from_db()
    assert flow.name != "Renamed" and flow.current_version is not None
    assert flow.current_version.number == 1

    graph = linear_workflow_graph()
    graph["nodes"][1]["position"] = {"x": 300, "y": 90}
    saved = browser.post(
        f"/flows/{flow.pk}/edit/", {"name": "Renamed", "graph": json.dumps(graph)}, follow=True
    )
    assert saved.redirect_chain == [(f"/flows/{flow.pk}/edit/", 302)]
    assert "Saved “Renamed” — version 2." in saved.content.decode()
    assert "node b: moved" in saved.content.decode()
    flow.refresh_from_db()
    assert flow.current_version is not None
    assert (flow.name, flow.current_version.number) == ("Renamed", 2)


def test_the_live_page_links_nodes_to_their_children_and_shows_the_path_up(
    owner: User, hierarchy: tuple[Flow, Flow, Flow]
) -> None:
    bmc, workflow, detail = hierarchy
    browser = signed_in(owner)
    top = browser.get(f"/flows/{bmc.pk}/live/").content.decode()
    assert f'<a class="drill" href="/flows/{workflow.pk}/live/">' in top
    assert top.count('class="drill"') == 1
    middle = browser.get(f"/flows/{workflow.pk}/live/").content.decode()
    assert f'<a class="drill" href="/flows/{detail.pk}/live/">' in middle
    bottom = browser.get(f"/flows/{detail.pk}/live/").content.decode()
    assert f'<a href="/flows/{bmc.pk}/live/">BMC</a>' in bottom
    assert f'<a href="/flows/{workflow.pk}/live/">Onboarding</a>' in bottom
    assert '<strong aria-current="page">Checklist</strong>' in bottom
    assert "data-analytics-panel" in bottom


def test_a_link_to_a_flow_that_is_no_longer_a_child_is_drawn_without_a_link(
    owner: User, hierarchy: tuple[Flow, Flow, Flow]
) -> None:
    bmc, workflow, _ = hierarchy
    Flow.objects.filter(pk=workflow.pk).update(parent=None)
    page = signed_in(owner).get(f"/flows/{bmc.pk}/live/").content.decode()
    assert 'class="drill"' not in page


def test_the_admin_picture_drills_to_the_childs_admin_page_and_lists_columns(
    owner: User, hierarchy: tuple[Flow, Flow, Flow]
) -> None:
    bmc, workflow, _ = hierarchy
    staff = signed_in(UserFactory.create(is_staff=True, is_superuser=True))
    page = staff.get(f"/admin/flows/flow/{bmc.pk}/change/").content.decode()
    assert f'<a class="drill" href="/admin/flows/flow/{workflow.pk}/change/">' in page
    assert 'id="canvas-geometry"' in page and "data-analytics-panel" in page
    listing = staff.get("/admin/flows/flow/").content.decode()
    for column in ("column-canvas_type", "column-version_number", "column-children_count"):
        assert column in listing
    add = staff.get(
        f"/admin/flows/flow/add/?parent={workflow.pk}&canvas_type=detail"
    ).content.decode()
    assert f'<option value="{workflow.pk}" selected>' in add
    assert f'<option value="{owner.pk}" selected>' in add  # the parent's owner
