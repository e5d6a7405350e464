"""Pure graph validation and compilation (SPEC section 3). No database access."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from flows.jsonpath import path_problem

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


# --- canvas nodes are transparent: paths through them are edges --------------------------
@dataclass
class _Link:
    """An executable edge: a graph edge between executable nodes, or a path through
    canvas nodes (`path` lists its graph edge ids; the mappings found along it apply in
    path order, each on what the previous one produced)."""

    source: str
    target: str
    path: list[str]
    mappings: list[Any]
    order: tuple[int, int]  # (position of the last graph edge, of the first): merge order

    @property
    def entering(self) -> str:
        """The graph edge that enters the target (where a problem is shown)."""
        return self.path[-1]


def _edge_mapping(edge: dict[str, Any]) -> Any:
    data = edge.get("data")
    return data.get("mapping") if isinstance(data, dict) else None


def _reaches_executable(parsed: _Parsed, kinds: dict[str, str]) -> set[str]:
    """Canvas nodes from which a path of canvas nodes leads to an executable node
    (walked backwards from the executable nodes, without recursion)."""
    preds: dict[str, list[str]] = {node_id: [] for node_id in parsed.nodes}
    for edge in parsed.edges:
        preds[edge["target"]].append(edge["source"])
    queue = [n for n, kind in kinds.items() if kind != "canvas"]
    found: set[str] = set()
    while queue:
        for pred in preds[queue.pop()]:
            if kinds[pred] == "canvas" and pred not in found:
                found.add(pred)
                queue.append(pred)
    return found


def _contract(parsed: _Parsed, kinds: dict[str, str]) -> tuple[list[_Link], list[GraphProblem]]:
    """Executable edges: every path from an executable node through canvas nodes only
    to another executable node. A second connection between the same two nodes (a
    duplicate edge, or another path through canvas nodes) is a problem: the target
    would wait for the same node twice."""
    position = {edge["id"]: index for index, edge in enumerate(parsed.edges)}
    outgoing: dict[str, list[dict[str, Any]]] = {node_id: [] for node_id in parsed.nodes}
    for edge in parsed.edges:
        outgoing[edge["source"]].append(edge)
    leads_on = _reaches_executable(parsed, kinds)
    links: list[_Link] = []
    problems: list[GraphProblem] = []
    for source in (n for n, kind in kinds.items() if kind != "canvas"):
        first_link: dict[str, _Link] = {}
        seen_canvas: set[str] = set()
        stack = [[edge] for edge in reversed(outgoing[source])]
        while stack:
            path = stack.pop()
            target = path[-1]["target"]
            ids = [e["id"] for e in path]
            if kinds[target] == "canvas":
                if target in seen_canvas:
                    if target in leads_on:
                        problems.append(_second_path(source, target, ids))
                    continue
                seen_canvas.add(target)
                stack.extend([*path, edge] for edge in reversed(outgoing[target]))
                continue
            if target in first_link:
                problems.append(_duplicate(source, target, first_link[target], ids))
                continue
            mappings = [m for m in (_edge_mapping(e) for e in path) if m]
            link = _Link(source, target, ids, mappings, (position[ids[-1]], position[ids[0]]))
            first_link[target] = link
            links.append(link)
    links.sort(key=lambda link: link.order)
    return links, problems


def _duplicate(source: str, target: str, first: _Link, path: list[str]) -> GraphProblem:
    if len(path) == 1 and len(first.path) == 1:
        message = (
            f"duplicate edge: {source} -> {target} is already connected by edge {first.path[0]}"
        )
    else:
        message = (
            f"{source} reaches {target} twice (edges {', '.join(first.path)} and "
            f"{', '.join(path)}; canvas nodes in between are transparent)"
        )
    return GraphProblem(message, edge_id=path[-1])


def _second_path(source: str, canvas_node: str, path: list[str]) -> GraphProblem:
    return GraphProblem(
        f"{source} reaches canvas node {canvas_node} by two paths, so the nodes after it "
        "would wait for it twice",
        edge_id=path[-1],
    )


def _link_ids(links: list[_Link], taken: set[str]) -> list[str]:
    """Plan ids of links: a graph edge keeps its id; a path through canvas nodes is
    named `{first edge}>{last edge}` (suffixed if that were taken)."""
    ids: list[str] = []
    used = set(taken)
    for link in links:
        if len(link.path) == 1:
            ids.append(link.path[0])
            continue
        name = base = f"{link.path[0]}>{link.path[-1]}"
        counter = 1
        while name in used:
            counter += 1
            name = f"{base}#{counter}"
        used.add(name)
        ids.append(name)
    return ids


# --- Splitters and Collectors --------------------------------------------------------------
@dataclass
class _Region:
    members: set[str]
    collectors: set[str]
    problems: list[GraphProblem]


def _split_region(splitter: str, succ: dict[str, list[str]], kinds: dict[str, str]) -> _Region:
    """Nodes strictly between a Splitter and the Collectors its branches reach."""
    region = _Region(set(), set(), [])
    stack = list(succ[splitter])
    if not stack:
        region.problems.append(GraphProblem("Splitter has no branch", node_id=splitter))
    while stack:
        node = stack.pop()
        if kinds[node] == "collector":
            region.collectors.add(node)
            continue
        if node in region.members:
            continue
        if kinds[node] == "splitter":
            region.problems.append(GraphProblem("nested Splitter is not supported", node_id=node))
        region.members.add(node)
        if not succ[node]:
            region.problems.append(
                GraphProblem(
                    f"branch of Splitter {splitter} ends without a Collector", node_id=node
                )
            )
        stack.extend(succ[node])
    if len(region.collectors) > 1:
        names = ", ".join(sorted(region.collectors))
        region.problems.append(
            GraphProblem(f"branches meet at several Collectors ({names})", node_id=splitter)
        )
    elif not region.collectors and not region.problems:
        region.problems.append(GraphProblem("Splitter reaches no Collector", node_id=splitter))
    return region


@dataclass
class _Compiled:
    kinds: dict[str, str]
    links: list[_Link]
    splits: dict[str, dict[str, Any]]
    problems: list[GraphProblem]


def _compile(parsed: _Parsed) -> _Compiled:
    """The executable graph: canvas nodes contracted away, splits found and checked."""
    kinds = {node_id: node_kind(node) for node_id, node in parsed.nodes.items()}
    links, problems = _contract(parsed, kinds)
    succ: dict[str, list[str]] = {n: [] for n, kind in kinds.items() if kind != "canvas"}
    feeders: dict[str, list[_Link]] = {n: [] for n in succ}
    for link in links:
        succ[link.source].append(link.target)
        feeders[link.target].append(link)
    splits: dict[str, dict[str, Any]] = {}
    reached_by: dict[str, list[str]] = {n: [] for n, kind in kinds.items() if kind == "collector"}
    for splitter in (n for n, kind in kinds.items() if kind == "splitter"):
        region = _split_region(splitter, succ, kinds)
        problems += region.problems
        for collector in sorted(region.collectors):
            reached_by[collector].append(splitter)
        if len(region.collectors) != 1:
            continue
        collector = next(iter(region.collectors))
        problems += _outside_feeders(splitter, collector, region.members, feeders)
        splits[splitter] = {"collector": collector, "members": sorted(region.members)}
    for collector, splitters in reached_by.items():
        if not splitters:
            problems.append(
                GraphProblem("Collector is not reached by any Splitter", node_id=collector)
            )
        elif len(splitters) > 1:
            problems.append(
                GraphProblem(
                    f"Collector is reached by several Splitters ({', '.join(splitters)})",
                    node_id=collector,
                )
            )
    problems += _instance_lookalikes(parsed, splits)
    return _Compiled(kinds, links, splits, problems)


def _outside_feeders(
    splitter: str, collector: str, members: set[str], feeders: dict[str, list[_Link]]
) -> list[GraphProblem]:
    problems = []
    for member in sorted(members):
        outside = [
            link.source
            for link in feeders[member]
            if link.source != splitter and link.source not in members
        ]
        if outside:
            problems.append(
                GraphProblem(
                    f"node inside the split of {splitter} has an upstream outside it "
                    f"({', '.join(outside)})",
                    node_id=member,
                )
            )
    for link in feeders[collector]:
        if link.source != splitter and link.source not in members:
            problems.append(
                GraphProblem(
                    f"{link.source} is outside the split of {splitter} and cannot feed "
                    "its Collector",
                    node_id=link.source,
                    edge_id=link.entering,
                )
            )
    return problems


def _instance_lookalikes(parsed: _Parsed, splits: dict[str, dict[str, Any]]) -> list[GraphProblem]:
    members = {member for split in splits.values() for member in split["members"]}
    problems = []
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
    return problems


# --- per node and per edge ------------------------------------------------------------------
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
    problem = path_problem(path)
    if problem:
        return [GraphProblem(f"arrayPath does not parse: {problem}", node_id=node_id)]
    return []


def _check_mapping(edge: dict[str, Any]) -> list[GraphProblem]:
    mapping = _edge_mapping(edge)
    if mapping is None:
        return []
    if not isinstance(mapping, dict):
        return [
            GraphProblem(
                'mapping must be an object of {"targetKey": "$.json.path"}', edge_id=edge["id"]
            )
        ]
    problems = []
    for key, expression in mapping.items():
        if isinstance(expression, str) and expression.startswith("$"):
            problem = path_problem(expression)
            if problem:
                problems.append(
                    GraphProblem(f"mapping {key!r} does not parse: {problem}", edge_id=edge["id"])
                )
    return problems


def _node_problems(parsed: _Parsed, worker_types: list[str]) -> list[GraphProblem]:
    problems: list[GraphProblem] = []
    for node_id, node in parsed.nodes.items():
        data = node.get("data")
        data = data if isinstance(data, dict) else {}
        kind = node_kind(node)
        if kind == "worker":
            problems += _check_worker(node_id, data, worker_types)
        elif kind == "splitter":
            problems += _check_splitter(node_id, data)
    for edge in parsed.edges:
        problems += _check_mapping(edge)
    return problems


def validate_graph(
    graph: Any, *, canvas_type: str = "workflow", worker_types: Iterable[str] = ()
) -> list[GraphProblem]:
    """Every problem with a graph, each naming its node or edge (empty list: valid)."""
    parsed = _parse(graph)
    if canvas_type != "workflow" or (parsed.problems and not parsed.nodes):
        return parsed.problems
    problems = parsed.problems + _node_problems(parsed, list(worker_types))
    cyclic = _cycle_nodes(_successors(parsed))
    if cyclic:
        problems += [GraphProblem("node is part of a cycle", node_id=n) for n in cyclic]
        return problems
    return problems + _compile(parsed).problems


def compile_plan(graph: Any) -> dict[str, Any]:
    """The execution plan stored on a flow version; the engine builds its view of a
    version from it (flows.engine.plan). Never raises, even on a graph that would no
    longer pass validation (versions saved under older rules).

    Canvas nodes are transparent (SPEC 3): they are not in the plan, and a path
    `A -> note -> B` is an edge from A to B carrying the mappings found along it.

    nodes: {id: {kind, upstream: [edge ids in merge order], downstream: [edge ids]}}
    edges: {id: {source, target, path: [graph edge ids], mappings: [mapping, ...]}}
    entries: executable nodes with no upstream; splits: {splitter: {collector,
    members}}; member_of: {member node: splitter}.
    """
    parsed = _parse(graph)
    compiled = _compile(parsed)
    nodes: dict[str, dict[str, Any]] = {
        node_id: {"kind": kind, "upstream": [], "downstream": []}
        for node_id, kind in compiled.kinds.items()
        if kind != "canvas"
    }
    edges: dict[str, dict[str, Any]] = {}
    taken = {edge["id"] for edge in parsed.edges}
    for edge_id, link in zip(_link_ids(compiled.links, taken), compiled.links, strict=True):
        edges[edge_id] = {
            "source": link.source,
            "target": link.target,
            "path": link.path,
            "mappings": link.mappings,
        }
        nodes[link.target]["upstream"].append(edge_id)
        nodes[link.source]["downstream"].append(edge_id)
    member_of = {m: s for s, split in compiled.splits.items() for m in split["members"]}
    return {
        "nodes": nodes,
        "edges": edges,
        "entries": [n for n, info in nodes.items() if not info["upstream"]],
        "splits": compiled.splits,
        "member_of": member_of,
    }
