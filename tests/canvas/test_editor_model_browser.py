"""The editor's model (static/canvas/model.js) and layout (layout.js) run in Chromium on
their own, without any page around them: operations, undo/redo, and the same BMC
layout as the server's picture."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page

from entities.picture import canvas_picture
from flows.layout import block_slot, layout_settings
from stitch.management.commands.demo_setup import bmc_graph
from tests.factories import CanvasFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MODEL = "/static/canvas/model.js"


@pytest.fixture
def page(page_for: Callable[..., Page], server: str) -> Page:
    page = page_for(None)
    page.goto(f"{server}/accounts/login/")  # any page of the site: modules load from it
    return page


def run(page: Page, body: str, arg: Any = None) -> Any:
    """Evaluate `body` (an async function body with `m` = model.js, `arg`) in the page."""
    return page.evaluate(f"async (arg) => {{ const m = await import('{MODEL}'); {body} }}", arg)


def test_operations_change_the_graph_and_undo_redo_walk_back_and_forth(page: Page) -> None:
    result = run(
        page,
        """
        const g = new m.GraphModel({nodes: [], edges: []});
        const a = g.addNode({type: "Worker", position: {x: 10.4, y: 20.6}});
        const b = g.addNode({type: "UX", position: {x: 300, y: 20}});
        const e = g.addEdge(a, b);
        g.updateNodeData(a, {workerType: "echo", label: "Fetch"});
        g.moveNode(b, {x: 310, y: 80});
        const done = g.toJSON();
        const steps = [];
        while (g.undo()) steps.push(g.toJSON().nodes.length + "/" + g.toJSON().edges.length);
        const empty = g.toJSON();
        while (g.redo()) {}
        return {a, b, e, done, steps, empty, redone: g.toJSON(), canRedo: g.canRedo};
        """,
    )
    assert (result["a"], result["b"], result["e"]) == ("worker-1", "ux-1", "e-worker-1-ux-1")
    nodes = {n["id"]: n for n in result["done"]["nodes"]}
    assert nodes["worker-1"] == {
        "id": "worker-1",
        "type": "Worker",
        "position": {"x": 10, "y": 21},
        "data": {"label": "Fetch", "workerType": "echo"},
    }
    assert nodes["ux-1"]["position"] == {"x": 310, "y": 80}
    assert result["done"]["edges"] == [
        {"id": "e-worker-1-ux-1", "source": "worker-1", "target": "ux-1"}
    ]
    # Five operations, five steps back: move, data, edge, node, node.
    assert result["steps"] == ["2/1", "2/1", "2/0", "1/0", "0/0"]
    assert result["empty"] == {"nodes": [], "edges": []}
    assert result["redone"] == result["done"]
    assert result["canRedo"] is False


def test_deleting_a_node_takes_its_edges_and_one_undo_brings_all_back(page: Page) -> None:
    result = run(
        page,
        """
        const g = new m.GraphModel(arg);
        g.remove({nodes: ["b"]});
        const after = g.toJSON();
        g.undo();
        return {after, back: g.toJSON()};
        """,
        {
            "nodes": [{"id": i, "type": "item", "data": {}} for i in "abc"],
            "edges": [
                {"id": "ab", "source": "a", "target": "b"},
                {"id": "bc", "source": "b", "target": "c"},
                {"id": "ac", "source": "a", "target": "c"},
            ],
        },
    )
    assert [n["id"] for n in result["after"]["nodes"]] == ["a", "c"]
    assert [e["id"] for e in result["after"]["edges"]] == ["ac"]
    assert [e["id"] for e in result["back"]["edges"]] == ["ab", "bc", "ac"]


def test_a_drag_is_one_undo_step_and_typing_in_a_field_is_one_too(page: Page) -> None:
    result = run(
        page,
        """
        const a = {id: "a", type: "item", position: {x: 0, y: 0}, data: {label: "A"}};
        const g = new m.GraphModel({nodes: [a], edges: []});
        const drag = g.gesture();
        for (let i = 1; i <= 20; i++) drag.move("a", {x: i * 5, y: i});
        drag.end();
        for (const text of ["N", "Ne", "New"]) {
          g.updateNodeData("a", {label: text}, {coalesce: "a:label"});
        }
        const done = g.toJSON().nodes[0];
        g.undo();
        const typingUndone = g.toJSON().nodes[0];
        g.undo();
        return {done, typingUndone, dragUndone: g.toJSON().nodes[0], more: g.canUndo};
        """,
    )
    assert result["done"]["position"] == {"x": 100, "y": 20}
    assert result["done"]["data"]["label"] == "New"
    assert result["typingUndone"] == {
        "id": "a",
        "type": "item",
        "position": {"x": 100, "y": 20},
        "data": {"label": "A"},
    }
    assert result["dragUndone"]["position"] == {"x": 0, "y": 0}
    assert result["more"] is False


def test_edges_that_make_no_sense_are_refused_and_blank_settings_are_removed(page: Page) -> None:
    result = run(
        page,
        """
        const g = new m.GraphModel(arg);
        const pairs = [["a", "a"], ["a", "b"], ["a", "nope"]];
        const refusals = pairs.map(([s, t]) => g.edgeRefusal(s, t));
        let thrown = null;
        try { g.addEdge("a", "a"); } catch (e) { thrown = e.message; }
        g.updateNodeData("a", {retries: "", webhookUrl: null, label: "Still A"});
        return {refusals, thrown, data: g.toJSON().nodes[0].data, undoable: g.canUndo};
        """,
        {
            "nodes": [
                {
                    "id": "a",
                    "type": "Worker",
                    "data": {"label": "A", "retries": 3, "extra": {"keep": True}},
                },
                {"id": "b", "type": "UX", "data": {}},
            ],
            "edges": [{"id": "x", "source": "a", "target": "b"}],
        },
    )
    assert result["refusals"] == [
        "an edge cannot loop back to its own node",
        "these nodes are already connected",
        "both ends must be nodes",
    ]
    assert result["thrown"] == "an edge cannot loop back to its own node"
    assert result["data"] == {"label": "Still A", "extra": {"keep": True}}
    assert result["undoable"] is True


def test_fields_it_does_not_know_survive_a_round_trip_and_new_ids_never_clash(page: Page) -> None:
    graph: dict[str, Any] = {
        "nodes": [
            {
                "id": "worker-1",
                "type": "Worker",
                "position": {"x": 1, "y": 2},
                "data": {},
                "meta": [1],
            },
            {"id": "worker_0", "type": "Worker", "data": {}},
        ],
        "edges": [],
        "viewport": {"zoom": 2},
    }
    result = run(
        page,
        """
        const g = new m.GraphModel(arg);
        const id = g.addNode({type: "Worker"});
        g.replace({...g.toJSON(), viewport: {zoom: 3}});
        return {id, graph: g.toJSON(), problem: m.undrawable({nodes: "x"})};
        """,
        graph,
    )
    assert result["id"] == "worker-2"
    assert result["graph"]["nodes"][0] == graph["nodes"][0]
    assert result["graph"]["viewport"] == {"zoom": 3}
    assert result["problem"] == "graph.nodes must be a list"


def test_the_editor_places_bmc_nodes_exactly_where_the_server_picture_does(
    page: Page, transactional_db: None
) -> None:
    graph = bmc_graph()
    graph["nodes"] += [
        {
            "id": "loose",
            "type": "note",
            "position": {"x": 1700, "y": 100},
            "data": {"label": "Loose"},
        },
        {
            "id": "far",
            "type": "item",
            "position": {"x": -500, "y": 9000},
            "data": {"block": "channels"},
        },
        {"id": "unplaced", "type": "item", "data": {"block": "key-partners"}},
        {"id": "second", "type": "section", "data": {"block": "channels", "label": "Another"}},
    ]
    canvas = CanvasFactory.create(owner=UserFactory.create(), graph=graph)
    server_boxes = canvas_picture(canvas)["geometry"]["nodes"]
    browser_boxes = page.evaluate(
        """async ([settings, graph]) => {
            const {Layout} = await import('/static/canvas/layout.js');
            const {boxes} = new Layout(settings).place(graph, "bmc");
            const row = (b) => [b.x, b.y, b.w, b.h, b.block, b.isBlock, b.label];
            return Object.fromEntries([...boxes.values()].map(b => [b.id, row(b)]));
        }""",
        [layout_settings(), graph],
    )
    expected = {
        node_id: [b["x"], b["y"], b["w"], b["h"], b["block"], b["is_block"], b["label"]]
        for node_id, b in server_boxes.items()
    }
    assert browser_boxes == expected
    # And the rules themselves: a clamped card, a loose note, a second section as a card.
    # Clamped to the block's lower left: channels is at (1092, 384), 300 x 320.
    assert expected["far"][4] == "channels" and expected["far"][:2] == [1112, 612]
    assert expected["loose"][:2] == [1700, 100] and expected["loose"][4] is None
    assert expected["second"][5] is False and expected["channels"][5] is True


def test_the_editor_routes_bmc_edges_exactly_as_the_server_picture_does(
    page: Page, transactional_db: None
) -> None:
    graph = bmc_graph()
    graph["nodes"] += [
        {"id": "loose", "type": "note", "position": {"x": 1900, "y": 300}, "data": {}},
        {
            "id": "card",
            "type": "item",
            "position": block_slot("key-resources", 2),
            "data": {"block": "key-resources", "label": "Card"},
        },
    ]
    pairs = [
        ("key-partners", "customer-segments"),  # around, through the gutter below
        ("cost-structure", "key-partners"),
        ("item-stripe", "item-live-in-a-day"),  # card to card across two blocks
        ("loose", "item-agencies"),
        ("card", "revenue-streams"),
        ("channels", "channels"),  # a loop: drawn as a point, never routed
        ("value-propositions", "item-monthly-plans"),
        ("customer-relationships", "key-resources"),  # three bends, around Value Propositions
        ("channels", "key-activities"),
    ]
    graph["edges"] += [
        {"id": f"x{i}", "source": a, "target": b, "data": {"label": f"edge {i}"}}
        for i, (a, b) in enumerate(pairs)
    ]
    canvas = CanvasFactory.create(owner=UserFactory.create(), graph=graph)
    server = canvas_picture(canvas)["geometry"]["edges"]
    browser = page.evaluate(
        """async ([settings, graph]) => {
            const {Layout, edgePaths} = await import('/static/canvas/layout.js');
            const {boxes, blocks} = new Layout(settings).place(graph, "bmc");
            const paths = edgePaths(graph.edges, boxes, blocks, "bmc");
            return Object.fromEntries([...paths].map(([id, p]) => [id, [p.points, p.labelAt]]));
        }""",
        [layout_settings(), graph],
    )
    expected = {
        edge_id: [[list(p) for p in e["points"]], e["label_at"]] for edge_id, e in server.items()
    }
    assert browser == expected
    assert len(expected["x7"][0]) == 5  # the detour
    # Every one of them but the loop found an orthogonal route.
    for edge_id, (points, _) in expected.items():
        if edge_id != "x5":
            assert all(a[0] == b[0] or a[1] == b[1] for a, b in itertools.pairwise(points)), edge_id
