"""The executable view of a flow version: cached, pure, no writes.

A FlowVersion never changes once written, so its plan is cached per process by
version id; a callback then costs no query to know the graph.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from jsonpath_ng import JSONPath
from jsonpath_ng import parse as jsonpath_parse
from jsonpath_ng.exceptions import JsonPathParserError

from flows.graph import node_kind
from flows.models import FlowVersion

_CACHE_SIZE = 256


@dataclass
class Plan:
    version_id: Any
    nodes: dict[str, dict[str, Any]]
    kinds: dict[str, str]
    edges: dict[str, dict[str, Any]]
    # Edges between executable nodes only; canvas nodes are never fired, so they
    # neither block nor feed anything.
    upstream: dict[str, list[str]] = field(default_factory=dict)
    downstream: dict[str, list[str]] = field(default_factory=dict)
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    member_of: dict[str, str] = field(default_factory=dict)

    @property
    def executable(self) -> list[str]:
        return [n for n, kind in self.kinds.items() if kind != "canvas"]

    def data(self, node_id: str) -> dict[str, Any]:
        data = self.nodes[node_id].get("data")
        return data if isinstance(data, dict) else {}

    def sources(self, node_id: str) -> list[str]:
        return [self.edges[e]["source"] for e in self.upstream[node_id]]

    def targets(self, node_id: str) -> list[str]:
        return [self.edges[e]["target"] for e in self.downstream[node_id]]

    def collector_of(self, splitter: str) -> str:
        return str(self.splits[splitter]["collector"])

    def members(self, splitter: str) -> list[str]:
        return list(self.splits[splitter]["members"])

    def tails(self, splitter: str) -> list[str]:
        """Members whose output goes straight into the Collector."""
        collector = self.collector_of(splitter)
        return [m for m in self.members(splitter) if collector in self.targets(m)]

    def collector_splitter(self, collector: str) -> str | None:
        for splitter, split in self.splits.items():
            if split["collector"] == collector:
                return splitter
        return None


def _build(version: FlowVersion) -> Plan:
    graph = version.graph if isinstance(version.graph, dict) else {}
    nodes = {n["id"]: n for n in graph.get("nodes", []) if isinstance(n, dict)}
    kinds = {node_id: node_kind(node) for node_id, node in nodes.items()}
    edges = {
        e["id"]: e
        for e in graph.get("edges", [])
        if isinstance(e, dict)
        and kinds.get(e.get("source")) not in (None, "canvas")
        and kinds.get(e.get("target")) not in (None, "canvas")
    }
    plan = Plan(
        version_id=version.pk,
        nodes=nodes,
        kinds=kinds,
        edges=edges,
        splits=dict((version.plan or {}).get("splits", {})),
        member_of=dict((version.plan or {}).get("member_of", {})),
    )
    for node_id in nodes:
        plan.upstream[node_id] = []
        plan.downstream[node_id] = []
    for edge_id, edge in edges.items():
        plan.upstream[edge["target"]].append(edge_id)
        plan.downstream[edge["source"]].append(edge_id)
    return plan


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached(version_id: Any) -> Plan:
    return _build(FlowVersion.objects.only("id", "graph", "plan").get(pk=version_id))


def plan_for(version_id: Any) -> Plan:
    return _cached(version_id)


@functools.lru_cache(maxsize=1024)
def compile_path(path: str) -> JSONPath:
    """JSONPath (`$.a.b[0]`) or dot path (`a.b`); raises ValueError when malformed."""
    text = path.strip()
    if not text.startswith("$"):
        text = "$." + text
    try:
        return jsonpath_parse(text)
    except (JsonPathParserError, Exception) as exc:  # the lexer raises plain Exceptions
        raise ValueError(f"invalid path {path!r}: {exc}") from exc


def path_value(path: str, data: Any) -> Any:
    """The value at `path` in `data`: one match as is, several as a list, none as None."""
    matches = [m.value for m in compile_path(path).find(data)]
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else matches


def edge_contribution(plan: Plan, edge_id: str, output: Any) -> dict[str, Any]:
    """What one upstream edge adds to its target's input (SPEC 4): the edge's
    `data.mapping` evaluated on the output, else the output itself (an object) or the
    output under the source node's id (anything else)."""
    edge = plan.edges[edge_id]
    data = edge.get("data") if isinstance(edge.get("data"), dict) else {}
    mapping = data.get("mapping") if data else None
    if isinstance(mapping, dict) and mapping:
        return {key: _mapped(expr, output) for key, expr in mapping.items()}
    if isinstance(output, dict):
        return output
    return {edge["source"]: output}


def _mapped(expr: Any, output: Any) -> Any:
    if isinstance(expr, str) and expr.startswith("$"):
        try:
            return path_value(expr, output)
        except ValueError:
            return None
    return expr
