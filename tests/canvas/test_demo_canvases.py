"""The demo's canvases: a BMC in its nine blocks, drilling down into the onboarding
workflow, which drills down into a detail canvas (`manage.py demo_setup`)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from flows import services
from flows.layout import BLOCK_KEYS, canvas_layout
from flows.models import Flow, FlowVersion

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


def demo() -> dict[str, Flow]:
    call_command("demo_setup", stdout=io.StringIO())
    return {kind: Flow.objects.get(canvas_type=kind) for kind in ("bmc", "workflow", "detail")}


def opened_by(flow: Flow, child: Flow) -> list[str]:
    return [
        n["id"]
        for n in flow.graph["nodes"]
        if n.get("data", {}).get("childFlowId") == str(child.pk)
    ]


def test_the_bmc_has_a_section_per_block_and_items_inside_them() -> None:
    bmc = demo()["bmc"]
    placed, blocks = canvas_layout(bmc.graph, "bmc")
    assert {b.key for b in blocks if b.node_id} == set(BLOCK_KEYS)
    items = [p for p in placed if p.type == "item"]
    assert len(items) >= 9
    by_key = {b.key: b for b in blocks}
    for item in items:
        block = by_key[item.block or ""]
        assert block.x <= item.x <= item.x + item.w <= block.x + block.w, item.id
        assert block.y <= item.y <= item.y + item.h <= block.y + block.h, item.id


def test_the_hierarchy_drills_down_from_a_section_to_the_workflow_to_the_detail() -> None:
    flows = demo()
    bmc, workflow, detail = flows["bmc"], flows["workflow"], flows["detail"]
    assert (workflow.parent, detail.parent) == (bmc, workflow)
    assert opened_by(bmc, workflow) == ["customer-relationships"]
    assert opened_by(workflow, detail) == ["review"]
    for flow in flows.values():
        assert (
            services.graph_problems(graph=flow.graph, canvas_type=flow.canvas_type, flow=flow) == []
        )


def test_running_it_again_keeps_the_links_and_makes_no_new_version() -> None:
    first = demo()
    versions = FlowVersion.objects.count()
    again = demo()
    assert FlowVersion.objects.count() == versions
    assert {k: f.graph for k, f in again.items()} == {k: f.graph for k, f in first.items()}


def test_a_demo_made_before_the_nine_blocks_is_brought_up_to_date() -> None:
    flows = demo()
    bmc = flows["bmc"]
    old = {
        "nodes": [{"id": key, "type": "bmcSection", "data": {"label": key}} for key in BLOCK_KEYS]
    }
    old["edges"] = [e for e in bmc.graph["edges"]]
    Flow.objects.filter(pk=bmc.pk).update(graph=old)
    bmc = demo()["bmc"]
    assert all("block" in n["data"] for n in bmc.graph["nodes"])
    assert opened_by(bmc, flows["workflow"]) == ["customer-relationships"]
