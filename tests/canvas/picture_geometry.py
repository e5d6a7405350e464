"""What a user sees of a drawn canvas, read from the page in screen pixels (boxes, edge
paths, labels, entity dots, "+N" chips), and the checks the picture tests make on it."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

Rect = dict[str, float]
Point = tuple[float, float]

# Reads any canvas SVG (server-drawn or the editor's) in screen coordinates.
_SOURCE = (Path(__file__).parent / "picture_geometry.js").read_text()
READ = "\n".join(line for line in _SOURCE.splitlines() if not line.startswith("//"))


def read(page: Page, selector: str = "#canvas-svg") -> dict[str, Any]:
    return page.evaluate(READ, selector)


def overlaps(a: Rect, b: Rect, margin: float = 0) -> bool:
    return (
        a["x"] < b["x"] + b["w"] - margin
        and b["x"] < a["x"] + a["w"] - margin
        and a["y"] < b["y"] + b["h"] - margin
        and b["y"] < a["y"] + a["h"] - margin
    )


def inside(inner: Rect, outer: Rect, slack: float = 0.5) -> bool:
    return (
        outer["x"] - slack <= inner["x"]
        and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + slack
        and outer["y"] - slack <= inner["y"]
        and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + slack
    )


def on_border(point: Point, rect: Rect, tolerance: float = 3) -> bool:
    x, y = point
    left, top = rect["x"], rect["y"]
    right, bottom = left + rect["w"], top + rect["h"]
    near = left - tolerance <= x <= right + tolerance and top - tolerance <= y <= bottom + tolerance
    deep = left + tolerance < x < right - tolerance and top + tolerance < y < bottom - tolerance
    return near and not deep


def crosses(a: Point, b: Point, rect: Rect, shrink: float = 1.5) -> bool:
    """Does the segment a-b pass through `rect` (its inside, `shrink` px in)?"""
    left, top = rect["x"] + shrink, rect["y"] + shrink
    right, bottom = rect["x"] + rect["w"] - shrink, rect["y"] + rect["h"] - shrink
    if right <= left or bottom <= top:
        return False
    # Liang-Barsky clipping of the segment against the rectangle.
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - left), (dx, right - a[0]), (-dy, a[1] - top), (dy, bottom - a[1])):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return t1 - t0 > 1e-6


def distance_to_path(point: Point, points: list[Point]) -> float:
    best = float("inf")
    for a, b in itertools.pairwise(points):
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = dx * dx + dy * dy
        t = 0.0 if length == 0 else ((point[0] - a[0]) * dx + (point[1] - a[1]) * dy) / length
        t = max(0.0, min(1.0, t))
        x, y = a[0] + t * dx, a[1] + t * dy
        best = min(best, ((point[0] - x) ** 2 + (point[1] - y) ** 2) ** 0.5)
    return best


def check_edges(picture: dict[str, Any], graph: dict[str, Any]) -> None:
    """Every edge starts on its source's border and ends on its target's, and passes
    through no other box (card, node or block)."""
    nodes = picture["nodes"]
    for edge in graph["edges"]:
        drawn = picture["edges"][edge["id"]]
        points = drawn["points"]
        source, target = nodes[edge["source"]], nodes[edge["target"]]
        assert on_border(points[0], source), (edge["id"], points[0], source)
        assert on_border(points[-1], target), (edge["id"], points[-1], target)
        homes = {n.get("block") for n in (source, target) if not n["isBlock"]}
        for node_id, box in nodes.items():
            if node_id in (edge["source"], edge["target"]):
                continue
            if box["isBlock"] and box["block"] in homes:
                continue  # the block a card endpoint stands in
            for a, b in itertools.pairwise(points):
                assert not crosses(a, b, box), (edge["id"], node_id, a, b)


def check_standing_dots(picture: dict[str, Any], standing: dict[str, str]) -> None:
    """`standing`: entity id -> node id. Each dot is inside its node; a block's dots are
    outside every card and clear of every edge line and label."""
    nodes, edges = picture["nodes"], picture["edges"]
    cards = [n for n in nodes.values() if not n["isBlock"]]
    for entity_id, node_id in standing.items():
        dot = picture["dots"].get(entity_id)
        if dot is None:
            continue  # counted on the node's chip
        assert inside(dot, nodes[node_id]), (entity_id, node_id)
        if not nodes[node_id]["isBlock"]:
            continue
        for card in cards:
            assert not overlaps(dot, card), (entity_id, card)
        for edge_id, edge in edges.items():
            assert distance_to_path((dot["cx"], dot["cy"]), edge["points"]) > dot["r"], edge_id


def check_chips(picture: dict[str, Any], standing: dict[str, str]) -> None:
    """A chip stands in its node, clear of cards and dots, and counts the entities there
    that have no dot."""
    nodes = picture["nodes"]
    cards = [n for n in nodes.values() if not n["isBlock"]]
    for chip in picture["chips"]:
        here = [e for e, n in standing.items() if n == chip["node"]]
        shown = [e for e in here if e in picture["dots"]]
        assert chip["count"] == len(here) - len(shown) > 0
        assert inside(chip, nodes[chip["node"]])
        assert not any(overlaps(chip, card) for card in cards if card is not nodes[chip["node"]])
        assert not any(overlaps(chip, picture["dots"][e], 0.5) for e in shown)


def check_travelling_dots(picture: dict[str, Any], travelling: dict[str, str]) -> None:
    """`travelling`: entity id -> edge id. Each dot sits on its edge's drawn path."""
    for entity_id, edge_id in travelling.items():
        dot = picture["dots"][entity_id]
        path = picture["edges"][edge_id]["points"]
        assert distance_to_path((dot["cx"], dot["cy"]), path) <= 1.5, (entity_id, edge_id)


def check_labels(picture: dict[str, Any]) -> None:
    """No edge label covers an entity dot or a card."""
    cards = [n for n in picture["nodes"].values() if not n["isBlock"]]
    for edge_id, edge in picture["edges"].items():
        label = edge["label"]
        if label is None:
            continue
        for entity_id, dot in picture["dots"].items():
            assert not overlaps(label, dot, 0.5), (edge_id, entity_id)
        for card in cards:
            assert not overlaps(label, card, 0.5), (edge_id, card)
