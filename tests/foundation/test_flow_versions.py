"""Saving a changed workflow graph creates a new immutable version; nothing else does."""

from __future__ import annotations

import copy

import pytest

from flows import services
from flows.graph import GraphInvalid
from flows.models import FlowVersion
from tests.factories import CanvasFactory, FlowFactory, linear_workflow_graph

pytestmark = pytest.mark.django_db


def test_a_new_workflow_starts_at_version_one_with_its_plan(owner) -> None:
    flow = FlowFactory.create(owner=owner)
    assert flow.current_version is not None
    assert flow.current_version.number == 1
    assert flow.current_version.graph == flow.graph
    assert flow.current_version.plan["entries"] == ["a"]


def test_changing_the_graph_creates_the_next_version_and_keeps_the_old_one(owner) -> None:
    flow = FlowFactory.create(owner=owner)
    first = flow.current_version
    assert first is not None
    graph = copy.deepcopy(flow.graph)
    graph["nodes"][1]["data"]["label"] = "B2"
    flow = services.flow_update(flow=flow, graph=graph)
    assert flow.current_version is not None
    assert flow.current_version.number == 2
    assert flow.current_version.graph["nodes"][1]["data"]["label"] == "B2"
    first.refresh_from_db()
    assert first.graph["nodes"][1]["data"]["label"] == "B"


def test_renaming_a_flow_creates_no_version(owner) -> None:
    flow = FlowFactory.create(owner=owner)
    services.flow_update(flow=flow, name="Renamed")
    services.flow_update(flow=flow, graph=linear_workflow_graph())  # same graph again
    assert list(flow.versions.values_list("number", flat=True)) == [1]


def test_canvases_that_are_not_workflows_have_no_versions(owner) -> None:
    canvas = CanvasFactory.create(owner=owner)
    services.flow_update(flow=canvas, name="BMC 2")
    assert canvas.current_version is None
    assert not FlowVersion.objects.filter(flow=canvas).exists()


def test_an_invalid_graph_changes_nothing(owner) -> None:
    flow = FlowFactory.create(owner=owner)
    bad = {"nodes": [{"id": "x", "type": "Worker", "data": {}}], "edges": []}
    with pytest.raises(GraphInvalid):
        services.flow_update(flow=flow, graph=bad, name="New name")
    flow.refresh_from_db()
    assert flow.name != "New name"
    assert flow.versions.count() == 1
