"""Hypothesis strategies for workflow graphs (property tests of the engine).

`workflows()` draws valid graphs: chains of pieces (a Worker or UX node, a diamond, a
Splitter with a chain of 1-3 members, sometimes a second tail and a member fed by the
Splitter too, then its Collector), one or two chains, sometimes joined, canvas nodes
on edges, before the entry and at dead ends, mappings on some edges. `mutated()` breaks
or bends such a graph a little (most results are refused, some are still valid).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

WORKER_URL = "http://127.0.0.1:9/never-called"  # dispatch jobs are never run here
MAPPINGS = [
    None,
    None,
    None,
    {"v": "$.v"},
    {"items": "$.items", "v": "$.v"},
    {"items": "$.items[*]"},
    {"all": "$..v", "tag": "literal"},
]


@dataclass
class GraphBuilder:
    nodes: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)

    def add(self, kind: str, **data: Any) -> str:
        node_id = f"n{len(self.nodes)}"
        self.nodes.append({"id": node_id, "type": kind, "position": {"x": 0, "y": 0}, "data": data})
        return node_id

    def work(self, draw: Any) -> str:
        if draw(st.integers(0, 3)) == 0:
            return self.add("UX", label="a person")
        return self.add("Worker", webhookUrl=WORKER_URL)

    def note(self) -> str:
        return self.add("stickyNote", label="a note")

    def link(self, draw: Any, source: str, target: str, *, mapped: bool = True) -> None:
        """An edge, sometimes through a canvas node, sometimes with a mapping."""
        mapping = draw(st.sampled_from(MAPPINGS)) if mapped else None
        if draw(st.integers(0, 4)) == 0:
            note = self.note()
            self.edge(source, note, mapping)
            self.edge(note, target, None)
        else:
            self.edge(source, target, mapping)

    def edge(self, source: str, target: str, mapping: dict[str, Any] | None) -> None:
        edge: dict[str, Any] = {"id": f"e{len(self.edges)}", "source": source, "target": target}
        if mapping:
            edge["data"] = {"mapping": mapping}
        self.edges.append(edge)

    def graph(self) -> dict[str, Any]:
        return {"nodes": self.nodes, "edges": self.edges}


def segment(draw: Any, b: GraphBuilder) -> tuple[str, str]:
    """A piece of workflow with one way in and one way out."""
    kind = draw(st.sampled_from(["work", "work", "diamond", "split", "split"]))
    if kind == "work":
        node = b.work(draw)
        return node, node
    if kind == "diamond":
        fork, left, right, join = b.work(draw), b.work(draw), b.work(draw), b.work(draw)
        b.link(draw, fork, left)
        b.link(draw, fork, right)
        b.link(draw, left, join)
        b.link(draw, right, join)
        return fork, join
    path = draw(st.sampled_from(["$.items", "items", "$.items[*]"]))
    splitter = b.add("Splitter", arrayPath=path)
    chain = [b.work(draw) for _ in range(draw(st.integers(1, 3)))]
    collector = b.add("Collector", label="gather")
    b.link(draw, splitter, chain[0], mapped=False)
    for before, after in itertools.pairwise(chain):
        b.link(draw, before, after)
    b.link(draw, chain[-1], collector)
    if len(chain) > 1 and draw(st.booleans()):
        b.edge(splitter, chain[-1], None)  # a member fed by the Splitter and the chain
    if draw(st.integers(0, 2)) == 0:
        extra = b.work(draw)  # a second tail
        b.link(draw, splitter, extra, mapped=False)
        b.link(draw, extra, collector)
    return splitter, collector


@st.composite
def workflows(draw: Any) -> dict[str, Any]:
    b = GraphBuilder()
    chains: list[list[tuple[str, str]]] = []
    for _ in range(draw(st.integers(1, 2))):
        pieces = [segment(draw, b) for _ in range(draw(st.integers(1, 3)))]
        for (_, out), (into, _) in itertools.pairwise(pieces):
            b.link(draw, out, into)
        chains.append(pieces)
    if len(chains) == 2 and draw(st.booleans()):
        # The first chain also feeds a later piece of the second (a join across chains).
        (_, out) = draw(st.sampled_from(chains[0]))
        (into, _) = draw(st.sampled_from(chains[1][1:] or chains[1]))
        b.link(draw, out, into)
    if draw(st.booleans()):
        b.edge(b.note(), chains[0][0][0], None)  # a canvas node before the entry
    if draw(st.booleans()):
        b.edge(draw(st.sampled_from(b.nodes))["id"], b.note(), None)  # a dead-end note
    return b.graph()


@st.composite
def mutated(draw: Any, graphs: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A graph with a few random changes: an edge added, removed or turned around, a
    node's type changed, an arrayPath or a mapping broken, an edge doubled."""
    graph = draw(graphs)
    nodes = [dict(n) for n in graph["nodes"]]
    edges = [dict(e) for e in graph["edges"]]
    ids = [n["id"] for n in nodes]
    for number in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        change = draw(st.sampled_from(["add", "remove", "flip", "retype", "path", "double"]))
        if change == "add":
            source, target = draw(st.sampled_from(ids)), draw(st.sampled_from(ids))
            edges.append({"id": f"m{number}", "source": source, "target": target})
        elif change == "remove" and edges:
            edges.pop(draw(st.integers(0, len(edges) - 1)))
        elif change == "flip" and edges:
            edge = edges[draw(st.integers(0, len(edges) - 1))]
            edge["source"], edge["target"] = edge["target"], edge["source"]
        elif change == "retype":
            node = nodes[draw(st.integers(0, len(nodes) - 1))]
            node["type"] = draw(st.sampled_from(["Worker", "UX", "Collector", "Splitter", "note"]))
            node["data"] = {"webhookUrl": WORKER_URL, "arrayPath": "$.items"}
        elif change == "path":
            node = nodes[draw(st.integers(0, len(nodes) - 1))]
            node["data"] = {**node["data"], "arrayPath": draw(st.sampled_from(["$.[", "", "v"]))}
        elif change == "double" and edges:
            edge = dict(edges[draw(st.integers(0, len(edges) - 1))])
            edges.append({**edge, "id": f"d{number}"})
    return {"nodes": nodes, "edges": edges}
