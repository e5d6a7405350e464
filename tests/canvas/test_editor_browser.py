"""The canvas editor in Chromium, as an operator uses it (issue 12's browser tests)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from flows.models import Flow, FlowVersion
from stitch.models import User
from tests.canvas.conftest import no_script_errors, screenshot
from tests.canvas.editing import (
    canvas_point,
    center,
    connect,
    drag,
    drop_from_palette,
    edge,
    inspector,
    node,
    open_editor,
    save,
    wait_checked,
)
from tests.factories import FlowFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def operator(transactional_db: None) -> User:
    return UserFactory.create(username="operator", is_staff=True, is_superuser=True)


def fill(page: Page, field: str, value: str) -> None:
    inspector(page).locator(f'[data-field="{field}"]').fill(value)


def choose(page: Page, field: str, value: str) -> None:
    inspector(page).locator(f'[data-field="{field}"]').select_option(value)


def test_an_operator_draws_a_workflow_from_the_palette_and_saves_version_one(
    page_for: Callable[..., Page], server: str, operator: User
) -> None:
    page = page_for(operator)
    open_editor(page, f"{server}/admin/flows/flow/add/")
    page.fill("#id_name", "Order fulfilment")
    page.locator("[data-canvas-editor]").evaluate("el => el.scrollIntoView()")

    fetch = drop_from_palette(page, "Worker", canvas_point(page, 0.15, 0.2))
    fill(page, "label", "Fetch order")
    choose(page, "runsOn", "builtin")
    choose(page, "workerType", "echo")
    split = drop_from_palette(page, "Splitter", canvas_point(page, 0.5, 0.2))
    fill(page, "arrayPath", "$.items")
    pack = drop_from_palette(page, "Worker", canvas_point(page, 0.5, 0.6))
    fill(page, "label", "Pack item")
    choose(page, "runsOn", "http")
    fill(page, "webhookUrl", "http://127.0.0.1:9/pack")
    fill(page, "timeoutSeconds", "10")
    fill(page, "retries", "2")
    gather = drop_from_palette(page, "Collector", canvas_point(page, 0.85, 0.6))
    fill(page, "label", "Gather parcels")
    for source, target in [(fetch, split), (split, pack), (pack, gather)]:
        connect(page, source, target)
    expect(page.locator(".editor-canvas .edge")).to_have_count(3)
    assert wait_checked(page) == "valid"
    screenshot(page, "editor-new-workflow")
    no_script_errors(page)

    save(page)
    flow = Flow.objects.get(name="Order fulfilment")
    assert flow.canvas_type == "workflow"
    assert flow.owner == operator
    assert flow.current_version is not None and flow.current_version.number == 1
    nodes = {n["id"]: n for n in flow.graph["nodes"]}
    assert {n["type"] for n in nodes.values()} == {"Worker", "Splitter", "Collector"}
    assert nodes[fetch]["data"] == {"label": "Fetch order", "workerType": "echo"}
    assert nodes[split]["data"] == {"label": "Splitter", "arrayPath": "$.items"}
    assert nodes[pack]["data"] == {
        "label": "Pack item",
        "webhookUrl": "http://127.0.0.1:9/pack",
        "timeoutSeconds": 10,
        "retries": 2,
    }
    assert nodes[gather]["data"] == {"label": "Gather parcels"}
    # Where the operator dropped them.
    spot = {n: (nodes[n]["position"]["x"], nodes[n]["position"]["y"]) for n in nodes}
    assert spot[fetch][0] < spot[split][0] < spot[gather][0]
    assert spot[split][1] < spot[pack][1]
    assert {(e["source"], e["target"]) for e in flow.graph["edges"]} == {
        (fetch, split),
        (split, pack),
        (pack, gather),
    }
    assert FlowVersion.objects.get(flow=flow, number=1).graph == flow.graph


def test_a_move_kept_and_an_edge_deletion_undone_make_version_two_with_its_diff(
    page_for: Callable[..., Page], server: str, operator: User
) -> None:
    flow = FlowFactory.create(owner=operator, name="Linear")  # a -> b, version 1
    page = page_for(operator)
    open_editor(page, f"{server}/admin/flows/flow/{flow.pk}/change/")
    start = center(node(page, "b").locator("rect"))
    drag(page, start, (start[0] + 60, start[1] + 120))
    edge(page, "a-b").locator("path.hit").click()
    page.keyboard.press("Delete")
    expect(edge(page, "a-b")).to_have_count(0)
    page.locator(".editor-toolbar [data-action=undo]").click()
    expect(edge(page, "a-b")).to_have_count(1)
    screenshot(page, "editor-move-and-undo")

    save(page)
    flow.refresh_from_db()
    assert flow.current_version is not None and flow.current_version.number == 2
    moved = next(n for n in flow.graph["nodes"] if n["id"] == "b")
    assert moved["position"]["y"] > 0
    assert [e["id"] for e in flow.graph["edges"]] == ["a-b"]
    v2 = page.locator('.flow-versions li[data-version="2"]')
    expect(v2.locator(".diff-node-changed")).to_have_text("node b: moved")
    expect(v2.locator(".diff-edges-removed, .diff-edges-added")).to_have_count(0)
    v2.scroll_into_view_if_needed()
    screenshot(page, "editor-version-diff")
    no_script_errors(page)


def test_a_cycle_is_marked_on_its_nodes_and_the_graph_is_not_saved(
    page_for: Callable[..., Page], server: str, operator: User
) -> None:
    flow = FlowFactory.create(owner=operator, name="Linear")
    stored = flow.graph
    page = page_for(operator)
    open_editor(page, f"{server}/admin/flows/flow/{flow.pk}/change/")
    connect(page, "b", "a")
    assert wait_checked(page) == "invalid"
    for node_id in ("a", "b"):
        expect(node(page, node_id)).to_have_class(re.compile(r"\bhas-problem\b"))
    expect(page.locator(".editor-problems li")).to_contain_text(["node a: node is part of a cycle"])
    screenshot(page, "editor-cycle-before-save")

    save(page)
    expect(page.locator(".errornote")).to_be_visible()
    expect(page.locator("[data-canvas-editor]")).to_have_attribute("data-ready", "true")
    # After the refused save the editor still has the operator's graph, marked.
    expect(page.locator(".editor-canvas .edge")).to_have_count(2)
    for node_id in ("a", "b"):
        expect(node(page, node_id)).to_have_class(re.compile(r"\bhas-problem\b"))
    screenshot(page, "editor-cycle-after-save")
    flow.refresh_from_db()
    assert flow.graph == stored
    assert flow.current_version is not None and flow.current_version.number == 1


def test_a_new_operator_draws_the_demo_workflow_under_the_bmc_without_typing_json(
    page_for: Callable[..., Page], server: str, operator: User
) -> None:
    """Issue 12's "done when": the demo's onboarding workflow, drawn from scratch as a
    child of the BMC and opened from its Customer Relationships section."""
    bmc = Flow.objects.create(
        owner=operator, name="Our BMC", canvas_type="bmc", graph=bmc_graph_without_links()
    )
    page = page_for(operator)
    open_editor(page, f"{server}/admin/flows/flow/{bmc.pk}/change/")
    with page.expect_navigation():
        page.get_by_role("link", name="Add a child canvas").click()
    expect(page.locator("#id_parent")).to_have_value(str(bmc.pk))
    page.fill("#id_name", "New customer onboarding")
    page.select_option("#id_canvas_type", "workflow")
    page.locator("[data-canvas-editor]").evaluate("el => el.scrollIntoView()")
    enrich = drop_from_palette(page, "Worker", canvas_point(page, 0.25, 0.4))
    fill(page, "label", "Enrich customer")
    choose(page, "workerType", "echo")
    review = drop_from_palette(page, "UX", canvas_point(page, 0.7, 0.4))
    fill(page, "label", "Operator reviews the account")
    connect(page, enrich, review)
    assert wait_checked(page) == "valid"
    save(page)
    workflow = Flow.objects.get(name="New customer onboarding")
    assert (workflow.parent, workflow.canvas_type) == (bmc, "workflow")
    assert workflow.current_version is not None and workflow.current_version.number == 1

    page.locator("nav.canvas-breadcrumbs").get_by_role("link", name="Our BMC").click()
    page.wait_for_url(f"**/admin/flows/flow/{bmc.pk}/change/")
    expect(page.locator("[data-canvas-editor]")).to_have_attribute("data-ready", "true")
    page.locator("[data-canvas-editor]").evaluate("el => el.scrollIntoView()")
    page.mouse.click(*center(node(page, "customer-relationships").locator(".label")))
    choose(page, "childFlowId", str(workflow.pk))
    expect(node(page, "customer-relationships")).to_have_class(re.compile(r"\bhas-child\b"))
    assert wait_checked(page) == "valid"
    screenshot(page, "editor-bmc-linked-to-new-workflow")
    save(page)
    bmc.refresh_from_db()
    section = next(n for n in bmc.graph["nodes"] if n["id"] == "customer-relationships")
    assert section["data"]["childFlowId"] == str(workflow.pk)
    no_script_errors(page)


def bmc_graph_without_links() -> dict:
    from stitch.management.commands.demo_setup import bmc_graph

    return bmc_graph()
