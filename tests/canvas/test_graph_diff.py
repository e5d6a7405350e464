"""What the version list says changed between two graphs (flows.diff)."""

from __future__ import annotations

from flows.diff import graph_diff


def node(node_id: str, **data: object) -> dict:
    return {"id": node_id, "type": "Worker", "position": {"x": 0, "y": 0}, "data": dict(data)}


def test_added_removed_and_changed_nodes_and_edges_are_named_with_their_fields() -> None:
    old = {
        "nodes": [node("a", label="A"), node("b", label="B"), node("gone")],
        "edges": [
            {"id": "a-b", "source": "a", "target": "b"},
            {"id": "x", "source": "a", "target": "gone"},
        ],
    }
    moved = node("b", label="B")
    moved["position"] = {"x": 40, "y": 0}
    new = {
        "nodes": [node("a", label="A", retries=2), moved, node("c")],
        "edges": [
            {"id": "a-b", "source": "a", "target": "b", "data": {"label": "next"}},
            {"id": "b-c", "source": "b", "target": "c"},
        ],
    }
    diff = graph_diff(old, new).as_dict()
    assert diff["nodes"] == {
        "added": ["c"],
        "removed": ["gone"],
        "changed": {"a": ["data.retries"], "b": ["moved"]},
    }
    assert diff["edges"] == {"added": ["b-c"], "removed": ["x"], "changed": {"a-b": ["data.label"]}}


def test_identical_graphs_have_no_diff_and_malformed_parts_are_skipped() -> None:
    graph = {"nodes": [node("a")], "edges": []}
    assert not graph_diff(graph, graph)
    assert not graph_diff({"nodes": "x"}, {"nodes": [42, {"no": "id"}]})
    assert graph_diff(None, graph).nodes.added == ["a"]


def test_a_type_change_and_a_retarget_are_reported_by_field() -> None:
    old = {"nodes": [node("a"), node("b")], "edges": [{"id": "e", "source": "a", "target": "b"}]}
    new = {
        "nodes": [node("a") | {"type": "UX"}, node("b")],
        "edges": [{"id": "e", "source": "b", "target": "a"}],
    }
    diff = graph_diff(old, new)
    assert diff.nodes.changed == {"a": ["type"]}
    assert diff.edges.changed == {"e": ["source", "target"]}
