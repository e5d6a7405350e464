"""Pure graph validation and compilation (SPEC section 3). No database access."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

EXECUTABLE_TYPES = {"worker", "splitter", "collector", "ux"}
_INSTANCE_ID = re.compile(r"^(.+)_(\d+)$")


@dataclass(frozen=True)
class GraphProblem:
    message: str
    node_id: str | None = None
    edge_id: str | None = None

    def as_dict(self) -> dict[str, str]:
        out = {"message": self.message}
        if self.node_id is not None:
            out["node_id"] = self.node_id
        if self.edge_id is not None:
            out["edge_id"] = self.edge_id
        return out

    def __str__(self) -> str:
        where = f"node {self.node_id}: " if self.node_id else ""
        where = f"edge {self.edge_id}: " if self.edge_id else where
        return where + self.message


class GraphInvalid(ValueError):
    def __init__(self, problems: list[GraphProblem]):
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def node_kind(node: dict[str, Any]) -> str:
    """Lower-cased executable type, or "canvas" for anything the engine never fires."""
    kind = str(node.get("type") or "").lower()
    return kind if kind in EXECUTABLE_TYPES else "canvas"


@dataclass
class _Parsed:
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: list[dict[str, Any]] = field(default_factory=list)
    problems: list[GraphProblem] = field(default_factory=list)


def _parse(graph: Any) -> _Parsed:
    parsed = _Parsed()
    if not isinstance(graph, dict):
        parsed.problems.append(GraphProblem("graph must be an object with nodes and edges"))
        return parsed
    nodes, edges = graph.get("nodes"), graph.get("edges", [])
    if not isinstance(nodes, list):
        parsed.problems.append(GraphProblem("graph.nodes must be a list"))
        nodes = []
    if not isinstance(edges, list):
        parsed.problems.append(GraphProblem("graph.edges must be a list"))
        edges = []
    for index, node in enumerate(nodes):
        node_id = node.get("id") if isinstance(node, dict) else None
        if not isinstance(node_id, str) or not node_id:
            parsed.problems.append(GraphProblem(f"nodes[{index}] needs a non-empty string id"))
            continue
        if node_id in parsed.nodes:
            parsed.problems.append(GraphProblem("duplicate node id", node_id=node_id))
            continue
        if not isinstance(node.get("type", ""), str):
            parsed.problems.append(GraphProblem("type must be a string", node_id=node_id))
        if not isinstance(node.get("data", {}), dict):
            parsed.problems.append(GraphProblem("data must be an object", node_id=node_id))
        # Kept even when malformed, so its edges are not also reported as dangling.
        parsed.nodes[node_id] = node
    seen_edges: set[str] = set()
    for index, edge in enumerate(edges):
        edge_id = edge.get("id") if isinstance(edge, dict) else None
        if not isinstance(edge_id, str) or not edge_id:
            parsed.problems.append(GraphProblem(f"edges[{index}] needs a non-empty string id"))
            continue
        if edge_id in seen_edges or edge_id in parsed.nodes:
            parsed.problems.append(GraphProblem("duplicate id", edge_id=edge_id))
            continue
        seen_edges.add(edge_id)
        ok = True
        if not isinstance(edge.get("data", {}), dict):
            parsed.problems.append(GraphProblem("data must be an object", edge_id=edge_id))
        for end in ("source", "target"):
            endpoint = edge.get(end)
            if not isinstance(endpoint, str) or endpoint not in parsed.nodes:
                parsed.problems.append(
                    GraphProblem(f"{end} {edge.get(end)!r} is not a node", edge_id=edge_id)
                )
                ok = False
        if ok:
            parsed.edges.append(edge)
    return parsed


def _successors(parsed: _Parsed) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = {node_id: [] for node_id in parsed.nodes}
    for edge in parsed.edges:
        succ[edge["source"]].append(edge["target"])
    return succ


def _peel(succ: dict[str, list[str]], nodes: set[str]) -> set[str]:
    """Kahn's algorithm on `nodes`: what is left cannot be ordered (on or below a cycle)."""
    indegree = dict.fromkeys(nodes, 0)
    for node in nodes:
        for target in succ[node]:
            if target in indegree:
                indegree[target] += 1
    queue = [node for node, degree in indegree.items() if degree == 0]
    while queue:
        node = queue.pop()
        for target in succ[node]:
            if target in indegree:
                indegree[target] -= 1
                if indegree[target] == 0:
                    queue.append(target)
    return {node for node, degree in indegree.items() if degree > 0}


def _cycle_nodes(succ: dict[str, list[str]]) -> list[str]:
    """Nodes that sit on a cycle: left after peeling sources forwards and sinks
    backwards, repeated until stable (so nodes merely downstream are not blamed)."""
    pred: dict[str, list[str]] = {node: [] for node in succ}
    for node, targets in succ.items():
        for target in targets:
            pred[target].append(node)
    left = set(succ)
    while True:
        narrowed = _peel(pred, _peel(succ, left))
        if narrowed == left:
            return sorted(left)
        left = narrowed


def _split_region(
    splitter: str, succ: dict[str, list[str]], kinds: dict[str, str]
) -> tuple[set[str], set[str], list[GraphProblem]]:
    """Nodes strictly between a Splitter and the Collectors its branches reach."""
    members: set[str] = set()
    collectors: set[str] = set()
    problems: list[GraphProblem] = []
    stack = list(succ[splitter])
    if not stack:
        problems.append(GraphProblem("Splitter has no branch", node_id=splitter))
    while stack:
        node = stack.pop()
        if kinds[node] == "collector":
            collectors.add(node)
            continue
        if node in members:
            continue
        if kinds[node] == "splitter":
            problems.append(GraphProblem("nested Splitter is not supported", node_id=node))
        members.add(node)
        if not succ[node]:
            problems.append(
                GraphProblem(
                    f"branch of Splitter {splitter} ends without a Collector", node_id=node
                )
            )
        stack.extend(succ[node])
    if len(collectors) > 1:
        names = ", ".join(sorted(collectors))
        problems.append(
            GraphProblem(f"branches meet at several Collectors ({names})", node_id=splitter)
        )
    return members, collectors, problems


def _check_worker(
    node_id: str, data: dict[str, Any], worker_types: Iterable[str]
) -> list[GraphProblem]:
    url, worker_type = data.get("webhookUrl"), data.get("workerType")
    if url:
        parsed = urlparse(str(url))
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            return [GraphProblem("webhookUrl must be an http(s) URL", node_id=node_id)]
        return []
    if worker_type and not isinstance(worker_type, str):
        return [GraphProblem("workerType must be a string", node_id=node_id)]
    if worker_type and worker_type in set(worker_types):
        return []
    if worker_type:
        return [GraphProblem(f"unknown workerType {worker_type!r}", node_id=node_id)]
    return [GraphProblem("Worker needs a webhookUrl or a known workerType", node_id=node_id)]


def _check_splitter(node_id: str, data: dict[str, Any]) -> list[GraphProblem]:
    path = data.get("arrayPath")
    if not isinstance(path, str) or not path.strip():
        return [GraphProblem("Splitter needs an arrayPath", node_id=node_id)]
    return []


def validate_graph(
    graph: Any, *, canvas_type: str = "workflow", worker_types: Iterable[str] = ()
) -> list[GraphProblem]:
    """Every problem with a graph, each naming its node or edge (empty list: valid)."""
    parsed = _parse(graph)
    if canvas_type != "workflow" or (parsed.problems and not parsed.nodes):
        return parsed.problems
    problems = list(parsed.problems)
    worker_types = list(worker_types)
    kinds = {node_id: node_kind(node) for node_id, node in parsed.nodes.items()}
    for node_id, node in parsed.nodes.items():
        data = node.get("data")
        data = data if isinstance(data, dict) else {}
        if kinds[node_id] == "worker":
            problems += _check_worker(node_id, data, worker_types)
        elif kinds[node_id] == "splitter":
            problems += _check_splitter(node_id, data)
    succ = _successors(parsed)
    cyclic = _cycle_nodes(succ)
    if cyclic:
        problems += [GraphProblem("node is part of a cycle", node_id=n) for n in cyclic]
        return problems
    plan_problems, _ = _compile_splits(parsed, succ, kinds)
    return problems + plan_problems


def _compile_splits(
    parsed: _Parsed, succ: dict[str, list[str]], kinds: dict[str, str]
) -> tuple[list[GraphProblem], dict[str, dict[str, Any]]]:
    problems: list[GraphProblem] = []
    splits: dict[str, dict[str, Any]] = {}
    preds: dict[str, list[str]] = {node_id: [] for node_id in parsed.nodes}
    for edge in parsed.edges:
        preds[edge["target"]].append(edge["source"])
    for splitter in (n for n, kind in kinds.items() if kind == "splitter"):
        members, collectors, region_problems = _split_region(splitter, succ, kinds)
        problems += region_problems
        if len(collectors) != 1:
            if not region_problems:
                problems.append(GraphProblem("Splitter reaches no Collector", node_id=splitter))
            continue
        for member in sorted(members):
            outside = [p for p in preds[member] if p != splitter and p not in members]
            if outside:
                problems.append(
                    GraphProblem(
                        f"node inside the split of {splitter} has an upstream outside it "
                        f"({', '.join(outside)})",
                        node_id=member,
                    )
                )
        splits[splitter] = {"collector": collectors.pop(), "members": sorted(members)}
    members = {member for split in splits.values() for member in split["members"]}
    for node_id in parsed.nodes:
        # Instances are named "{member}_{index}"; the digits hold no "_", so the only
        # candidate member is everything before the last "_" (one lookup per node).
        match = _INSTANCE_ID.match(node_id)
        if match and match.group(1) in members:
            problems.append(
                GraphProblem(
                    f"id could be mistaken for a parallel instance of {match.group(1)}",
                    node_id=node_id,
                )
            )
    return problems, splits


def compile_plan(graph: dict[str, Any]) -> dict[str, Any]:
    """The execution plan stored on a flow version (call on a valid workflow graph).

    The engine's rule (flows.engine.plan): canvas nodes are never fired, so they neither
    block nor feed anything; only edges between executable nodes count.

    nodes: {id: {kind, upstream: [edge ids in graph order], downstream: [edge ids]}}
    edges: the edges between executable nodes; entries: executable nodes with no
    upstream among them; splits: {splitter: {collector, members}};
    member_of: {member node: splitter}.
    """
    parsed = _parse(graph)
    succ = _successors(parsed)
    kinds = {node_id: node_kind(node) for node_id, node in parsed.nodes.items()}
    nodes: dict[str, dict[str, Any]] = {
        node_id: {"kind": kind, "upstream": [], "downstream": []}
        for node_id, kind in kinds.items()
        if kind != "canvas"
    }
    edges = [e for e in parsed.edges if e["source"] in nodes and e["target"] in nodes]
    for edge in edges:
        nodes[edge["target"]]["upstream"].append(edge["id"])
        nodes[edge["source"]]["downstream"].append(edge["id"])
    _, splits = _compile_splits(parsed, succ, kinds)
    member_of = {m: s for s, split in splits.items() for m in split["members"]}
    return {
        "nodes": nodes,
        "edges": {e["id"]: {"source": e["source"], "target": e["target"]} for e in edges},
        "entries": [n for n, info in nodes.items() if not info["upstream"]],
        "splits": splits,
        "member_of": member_of,
    }
