"""Operators' admin: every table is there; flows are saved through the services with
graph problems shown on the graph field."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.test import Client

from flows.models import Flow, FlowVersion
from stitch.models import User
from tests.factories import (
    CanvasFactory,
    EntityFactory,
    FlowFactory,
    JourneyEventFactory,
    MediaFactory,
    RunFactory,
    UserFactory,
    WebhookEventFactory,
    linear_workflow_graph,
)

pytestmark = pytest.mark.django_db

PROJECT_APPS = ["stitch", "flows", "entities", "webhooks", "media"]
# Tables shown inside another model's admin page instead of a page of their own.
SHOWN_INSIDE = {"flows.RunNode": "the node-states table on the Run page"}


@pytest.fixture
def operator() -> User:
    return UserFactory.create(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(operator: User) -> Client:
    client = Client()
    client.force_login(operator)
    return client


def form_data(flow_owner: User, graph: Any, **extra: Any) -> dict[str, Any]:
    return {
        "owner": str(flow_owner.pk),
        "name": "Admin flow",
        "canvas_type": "workflow",
        "parent": "",
        "graph": json.dumps(graph),
        **extra,
    }


def test_every_project_table_is_in_the_admin() -> None:
    shown = set(admin.site._registry)
    for model_admin in admin.site._registry.values():
        shown |= {inline.model for inline in model_admin.inlines}
    missing = [
        model._meta.label
        for name in PROJECT_APPS
        for model in apps.get_app_config(name).get_models()
        if model not in shown and model._meta.label not in SHOWN_INSIDE
    ]
    assert missing == []


def test_every_changelist_and_change_page_renders(admin_client: Client, owner: User) -> None:
    flow = FlowFactory.create(owner=owner)
    RunFactory.create(flow=flow)
    JourneyEventFactory.create(
        entity=EntityFactory.create(canvas=CanvasFactory.create(owner=owner))
    )
    WebhookEventFactory.create()
    MediaFactory.create(user=owner)
    for name in PROJECT_APPS:
        for model in apps.get_app_config(name).get_models():
            if model not in admin.site._registry:
                continue
            meta = model._meta
            url = f"/admin/{meta.app_label}/{meta.model_name}/"
            assert admin_client.get(url).status_code == 200, url
            assert admin_client.get(url, {"q": "x"}).status_code == 200, url
            obj = model._default_manager.first()
            if obj is not None:
                assert admin_client.get(f"{url}{obj.pk}/change/").status_code == 200, url


def test_the_flow_changelist_is_one_query_per_page_not_per_row(
    admin_client: Client, owner: User, django_assert_max_num_queries: Any
) -> None:
    for _ in range(5):
        FlowFactory.create(owner=owner, parent=CanvasFactory.create(owner=owner))
    admin_client.get("/admin/flows/flow/")  # warm the session/content-type caches
    with django_assert_max_num_queries(8):
        assert admin_client.get("/admin/flows/flow/").status_code == 200


def test_adding_a_workflow_goes_through_the_service_and_makes_version_one(
    admin_client: Client, owner: User
) -> None:
    response = admin_client.post(
        "/admin/flows/flow/add/", form_data(owner, linear_workflow_graph())
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    flow = Flow.objects.get(name="Admin flow")
    assert flow.owner == owner
    assert flow.current_version is not None
    assert flow.current_version.number == 1


def test_graph_problems_are_shown_on_the_graph_field_and_nothing_is_saved(
    admin_client: Client, owner: User
) -> None:
    graph = {
        "nodes": [{"id": "w", "type": "Worker", "data": {}}, {"id": "w", "type": "UX"}],
        "edges": [{"id": "e", "source": "w", "target": "gone"}],
    }
    response = admin_client.post("/admin/flows/flow/add/", form_data(owner, graph))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["graph"]
    assert "node w: duplicate node id" in errors
    assert "edge e: target 'gone' is not a node" in errors
    assert "node w: Worker needs a webhookUrl or a known workerType" in errors
    html = response.content.decode()
    assert re.search(r"errorlist.*duplicate node id", html, re.S)
    assert not Flow.objects.exists()


def test_text_that_is_not_json_is_a_form_error(admin_client: Client, owner: User) -> None:
    data = form_data(owner, {})
    data["graph"] = "{nodes: oops"
    response = admin_client.post("/admin/flows/flow/add/", data)
    assert response.status_code == 200
    assert "graph" in response.context["adminform"].form.errors


def test_the_graph_is_shown_as_indented_json(admin_client: Client, owner: User) -> None:
    flow = FlowFactory.create(owner=owner)
    html = admin_client.get(f"/admin/flows/flow/{flow.pk}/change/").content.decode()
    assert "&quot;nodes&quot;: [\n" in html


def test_editing_the_graph_in_the_admin_makes_a_new_version_and_renaming_does_not(
    admin_client: Client, owner: User
) -> None:
    flow = FlowFactory.create(owner=owner)
    url = f"/admin/flows/flow/{flow.pk}/change/"
    graph = linear_workflow_graph()
    assert admin_client.post(url, form_data(owner, graph, name="New")).status_code == 302
    assert FlowVersion.objects.filter(flow=flow).count() == 1
    graph["nodes"][0]["data"]["label"] = "Changed"
    assert admin_client.post(url, form_data(owner, graph, name="New")).status_code == 302
    flow.refresh_from_db()
    assert flow.name == "New"
    assert flow.current_version is not None
    assert flow.current_version.number == 2


def test_versions_are_read_only_in_the_admin(admin_client: Client, owner: User) -> None:
    version = FlowFactory.create(owner=owner).current_version
    assert version is not None
    url = f"/admin/flows/flowversion/{version.pk}/change/"
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"number": 7}).status_code == 403
    assert admin_client.get("/admin/flows/flowversion/add/").status_code == 403


def test_deleting_a_flow_with_runs_in_the_admin_works(admin_client: Client, owner: User) -> None:
    run = RunFactory.create(flow=FlowFactory.create(owner=owner))
    url = f"/admin/flows/flow/{run.flow_id}/delete/"
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Cannot delete" not in page.content.decode()
    assert admin_client.post(url, {"post": "yes"}).status_code == 302
    assert not Flow.objects.filter(pk=run.flow_id).exists()


def test_a_parent_must_be_another_canvas_of_the_same_owner(
    admin_client: Client, owner: User, other: User
) -> None:
    flow = FlowFactory.create(owner=owner)
    url = f"/admin/flows/flow/{flow.pk}/change/"
    data = form_data(owner, linear_workflow_graph(), parent=str(flow.pk))
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "parent" in response.context["adminform"].form.errors
    theirs = CanvasFactory.create(owner=other)
    response = admin_client.post(url, form_data(owner, flow.graph, parent=str(theirs.pk)))
    assert response.context["adminform"].form.errors["parent"] == [
        "The parent canvas must belong to the same owner."
    ]
