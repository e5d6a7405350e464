"""The executable view of a flow version: cached, pure, no writes.

A FlowVersion never changes once written, so its plan is cached per process by
version id; a callback then costs no query to know the graph. The plan is compiled
from the version's graph by `flows.graph.compile_plan` (the same function that fills
`FlowVersion.plan`), so versions saved before a change of the compilation rules run
by the current rules too.

Canvas nodes are not in the plan: a path `A -> note -> B` is one edge from A to B
(SPEC 3), carrying the mappings found along it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

from flows.graph import compile_plan
from flows.jsonpath import path_value
from flows.models import FlowVersion

_CACHE_SIZE = 256


@dataclass
class Plan:
    version_id: Any
    # Graph nodes by id (all of them: `data` is read from here).
    nodes: dict[str, dict[str, Any]]
    # Executable nodes only: {id: worker|splitter|collector|ux}.
    kinds: dict[str, str]
    # Executable edges: {id: {source, target, path, mappings}}.
    edges: dict[str, dict[str, Any]]
    upstream: dict[str, list[str]] = field(default_factory=dict)
    downstream: dict[str, list[str]] = field(default_factory=dict)
    splits: dict[str, dict[str, Any]] = field(default_factory=dict)
    member_of: dict[str, str] = field(default_factory=dict)
    # {collector: splitter}
    split_of: dict[str, str] = field(default_factory=dict)

    @property
    def executable(self) -> list[str]:
        return list(self.kinds)

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
        return self.split_of.get(collector)


def build_plan(version_id: Any, graph: Any) -> Plan:
    compiled = compile_plan(graph)
    nodes = {
        n["id"]: n
        for n in (graph.get("nodes", []) if isinstance(graph, dict) else [])
        if isinstance(n, dict) and isinstance(n.get("id"), str)
    }
    splits = compiled["splits"]
    return Plan(
        version_id=version_id,
        nodes=nodes,
        kinds={node_id: info["kind"] for node_id, info in compiled["nodes"].items()},
        edges=compiled["edges"],
        upstream={node_id: info["upstream"] for node_id, info in compiled["nodes"].items()},
        downstream={node_id: info["downstream"] for node_id, info in compiled["nodes"].items()},
        splits=splits,
        member_of=compiled["member_of"],
        split_of={split["collector"]: splitter for splitter, split in splits.items()},
    )


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _cached(version_id: Any) -> Plan:
    version = FlowVersion.objects.only("id", "graph").get(pk=version_id)
    return build_plan(version.pk, version.graph)


def plan_for(version_id: Any) -> Plan:
    return _cached(version_id)


def edge_contribution(plan: Plan, edge_id: str, output: Any) -> dict[str, Any]:
    """What one upstream edge adds to its target's input (SPEC 4): the edge's
    `data.mapping` evaluated on the output, else the output itself (an object) or the
    output under the source node's id (anything else). On a path through canvas nodes,
    each mapping along it applies to what the previous one produced."""
    edge = plan.edges[edge_id]
    value, mapped = output, False
    for mapping in edge["mappings"]:
        if isinstance(mapping, dict) and mapping:
            value = {key: _mapped(expr, value) for key, expr in mapping.items()}
            mapped = True
    if mapped:
        return dict(value)
    if isinstance(output, dict):
        return output
    return {edge["source"]: output}


def _mapped(expr: Any, output: Any) -> Any:
    """A `$` path is evaluated (SPEC 4 shape rule); anything else is a literal."""
    if isinstance(expr, str) and expr.startswith("$"):
        return path_value(expr, output)
    return expr
