"""Geometry of a canvas picture: node boxes, edge lines, entity dots (SVG coordinates).

Shared by the admin flow page (server-rendered) and the live page, whose script repeats
`dot_positions` in JavaScript to move dots as messages arrive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from entities.models import Entity
from flows.models import Flow

NODE_W, NODE_H, PAD = 160, 48, 40
DOT_R, DOT_GAP, DOTS_PER_ROW = 6, 14, 10
PALETTE = ["#2563eb", "#16a34a", "#db2777", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04"]


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    type: str
    x: float
    y: float
    w: float = NODE_W
    h: float = NODE_H

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2


@dataclass(frozen=True)
class Line:
    id: str
    label: str
    x1: float
    y1: float
    x2: float
    y2: float

    @property
    def mid(self) -> tuple[float, float]:
        return (self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2


@dataclass(frozen=True)
class Dot:
    id: str
    name: str
    entity_type: str
    cx: float
    cy: float
    color: str


def _number(value: Any, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _boxes(graph: dict[str, Any]) -> list[Box]:
    boxes = []
    for index, node in enumerate(n for n in graph.get("nodes") or [] if isinstance(n, dict)):
        position, data = _dict(node.get("position")), _dict(node.get("data"))
        # Nodes without a position fall on a grid rather than on top of each other.
        x = _number(position.get("x"), (index % 4) * (NODE_W + 60))
        y = _number(position.get("y"), (index // 4) * (NODE_H + 80))
        label = str(data.get("label") or node.get("id"))
        boxes.append(
            Box(id=str(node.get("id")), label=label, type=str(node.get("type", "")), x=x, y=y)
        )
    return boxes


def _border(box: Box, toward: Box) -> tuple[float, float]:
    """Where the line from `box`'s centre to `toward`'s centre leaves `box`, so edges
    (and entities at progress 0 or 1) sit between the boxes, not under them."""
    (cx, cy), (tx, ty) = box.center, toward.center
    dx, dy = tx - cx, ty - cy
    if dx == 0 and dy == 0:
        return cx, cy
    scale = min(
        (box.w / 2) / abs(dx) if dx else float("inf"),
        (box.h / 2) / abs(dy) if dy else float("inf"),
    )
    return cx + dx * scale, cy + dy * scale


def _lines(graph: dict[str, Any], boxes: dict[str, Box]) -> list[Line]:
    lines = []
    for edge in (e for e in graph.get("edges") or [] if isinstance(e, dict)):
        source, target = boxes.get(str(edge.get("source"))), boxes.get(str(edge.get("target")))
        if source is None or target is None:
            continue
        data = _dict(edge.get("data"))
        label = str(data.get("label") or edge.get("label") or "")
        (x1, y1), (x2, y2) = _border(source, target), _border(target, source)
        lines.append(Line(id=str(edge.get("id")), label=label, x1=x1, y1=y1, x2=x2, y2=y2))
    return lines


def color_for(entity_type: str) -> str:
    """Same string hash as the live page's script, so colours agree."""
    value = 0
    for char in entity_type:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    return PALETTE[value % len(PALETTE)]


def dot_positions(
    entities: Iterable[Entity], boxes: dict[str, Box], lines: dict[str, Line]
) -> list[Dot]:
    """Dots in rows inside their node's box, or along their edge at their progress."""
    dots: list[Dot] = []
    per_node: dict[str, int] = defaultdict(int)
    for entity in sorted(entities, key=lambda e: (e.created_at, str(e.pk))):
        if entity.current_node_id in boxes:
            box, slot = boxes[entity.current_node_id], per_node[entity.current_node_id]
            per_node[entity.current_node_id] += 1
            cx = box.x + DOT_R + 4 + (slot % DOTS_PER_ROW) * DOT_GAP
            cy = box.y + box.h - DOT_R - 4 + (slot // DOTS_PER_ROW) * DOT_GAP
        elif entity.current_edge_id in lines:
            line, progress = lines[entity.current_edge_id], float(entity.edge_progress or 0)
            cx = line.x1 + (line.x2 - line.x1) * progress
            cy = line.y1 + (line.y2 - line.y1) * progress
        else:
            continue
        color = color_for(entity.entity_type)
        dots.append(Dot(str(entity.pk), entity.name, entity.entity_type, cx, cy, color))
    return dots


def canvas_picture(flow: Flow, entities: Iterable[Entity] = ()) -> dict[str, Any]:
    """Everything the SVG template needs, plus a JSON-ready copy for the page script."""
    graph = flow.graph if isinstance(flow.graph, dict) else {}
    boxes = _boxes(graph)
    by_id = {box.id: box for box in boxes}
    lines = _lines(graph, by_id)
    dots = dot_positions(entities, by_id, {line.id: line for line in lines})
    xs = [b.x for b in boxes] or [0.0]
    ys = [b.y for b in boxes] or [0.0]
    left, top = min(xs) - PAD, min(ys) - PAD
    width = max(b.x + b.w for b in boxes) + PAD - left if boxes else 400
    height = max(b.y + b.h for b in boxes) + PAD + 2 * DOT_GAP - top if boxes else 200
    return {
        "view_box": f"{left:g} {top:g} {width:g} {height:g}",
        "nodes": boxes,
        "edges": [{"line": line, "mid": line.mid} for line in lines],
        "dots": dots,
        "geometry": {
            "canvas_id": str(flow.pk),
            "nodes": {box.id: asdict(box) for box in boxes},
            "edges": {line.id: asdict(line) for line in lines},
            "dot": {"r": DOT_R, "gap": DOT_GAP, "per_row": DOTS_PER_ROW},
            "palette": PALETTE,
        },
    }
