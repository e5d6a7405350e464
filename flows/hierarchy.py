"""Reads for navigating canvases: the path up to the root, the children, the versions
with what each one changed. Pages and the admin use these; nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flows.diff import GraphDiff, graph_diff
from flows.models import Flow

# Parents are checked against cycles on save (services.parent_check); this only
# bounds the walk should a cycle ever be written by hand.
MAX_DEPTH = 32


def ancestors(flow: Flow) -> list[Flow]:
    """The canvases above `flow`, root first (one query per level)."""
    path: list[Flow] = []
    seen = {flow.pk}
    current = flow.parent
    while current is not None and current.pk not in seen and len(path) < MAX_DEPTH:
        path.append(current)
        seen.add(current.pk)
        current = current.parent
    return path[::-1]


def children(flow: Flow) -> list[Flow]:
    """Child canvases of `flow` that a node of it may open (same owner), by name."""
    if flow._state.adding:
        return []
    return list(
        Flow.objects.filter(parent=flow, owner_id=flow.owner_id)
        .only("id", "name", "canvas_type", "parent_id", "owner_id")
        .order_by("name", "id")
    )


def child_links(flow: Flow) -> dict[str, str]:
    """{child flow id: id of the node that opens it} from the flow's graph."""
    nodes = flow.graph.get("nodes") if isinstance(flow.graph, dict) else None
    links: dict[str, str] = {}
    for node in nodes if isinstance(nodes, list) else []:
        data = node.get("data") if isinstance(node, dict) else None
        child = data.get("childFlowId") if isinstance(data, dict) else None
        if isinstance(child, str) and child and isinstance(node.get("id"), str):
            links.setdefault(child, node["id"])
    return links


@dataclass(frozen=True)
class VersionEntry:
    id: Any
    number: int
    created_at: datetime
    diff: GraphDiff


def version_list(flow: Flow, limit: int = 20) -> list[VersionEntry]:
    """The newest `limit` versions, newest first, each with its changes from the one
    before (version 1: from an empty graph)."""
    rows = list(
        flow.versions.order_by("-number").only("id", "number", "created_at", "graph")[: limit + 1]
    )
    entries = []
    for index, version in enumerate(rows[:limit]):
        previous = rows[index + 1].graph if index + 1 < len(rows) else None
        if previous is None and version.number > 1:
            continue  # its predecessor is outside the window: nothing true to show
        entries.append(
            VersionEntry(
                id=version.pk,
                number=version.number,
                created_at=version.created_at,
                diff=graph_diff(previous or {}, version.graph),
            )
        )
    return entries
