"""What changed between two graphs, node by node and edge by edge (the version list)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Changes:
    """Ids added and removed, and for each changed id the fields that differ."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass
class GraphDiff:
    nodes: Changes
    edges: Changes

    def __bool__(self) -> bool:
        return bool(self.nodes or self.edges)

    def as_dict(self) -> dict[str, Any]:
        return {
            kind: {"added": c.added, "removed": c.removed, "changed": c.changed}
            for kind, c in (("nodes", self.nodes), ("edges", self.edges))
        }


def _by_id(graph: Any, key: str) -> dict[str, dict[str, Any]]:
    items = graph.get(key) if isinstance(graph, dict) else None
    out: dict[str, dict[str, Any]] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            out.setdefault(item["id"], item)
    return out


def _fields(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Top-level keys that differ, with `data` broken down into `data.<key>`; a changed
    position reads "moved", which is what an operator did."""
    names: list[str] = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after or key == "id":
            continue
        if key == "data" and isinstance(before or {}, dict) and isinstance(after or {}, dict):
            before, after = before or {}, after or {}
            names += [
                f"data.{k}"
                for k in sorted(set(before) | set(after))
                if before.get(k) != after.get(k)
            ]
        else:
            names.append("moved" if key == "position" else key)
    return names


def _changes(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> Changes:
    changes = Changes(
        added=[i for i in new if i not in old], removed=[i for i in old if i not in new]
    )
    for item_id in (i for i in new if i in old):
        fields = _fields(old[item_id], new[item_id])
        if fields:
            changes.changed[item_id] = fields
    return changes


def graph_diff(old: Any, new: Any) -> GraphDiff:
    """Nodes and edges added, removed and changed from `old` to `new` (ids in graph order)."""
    return GraphDiff(
        nodes=_changes(_by_id(old, "nodes"), _by_id(new, "nodes")),
        edges=_changes(_by_id(old, "edges"), _by_id(new, "edges")),
    )
