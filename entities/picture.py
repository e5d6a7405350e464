"""Geometry of a canvas picture: BMC blocks, node boxes, edge lines, entity dots (SVG
coordinates). Nodes are placed by flows.layout (the nine-block BMC, free layout
otherwise).

Shared by the admin flow page (server-rendered) and the live page, whose script places
dots with the same rule (static/canvas/dots.js) as messages arrive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from entities.models import Entity
from flows.graph import node_kind
from flows.layout import BLOCK_FOOT, Block, canvas_layout
from flows.models import Flow

PAD = 40
DOT_R, DOT_GAP, DOTS_PER_ROW = 6, 14, 10
PALETTE = ["#2563eb", "#16a34a", "#db2777", "#ea580c", "#7c3aed", "#0891b2", "#ca8a04"]
KINDS = {"worker", "splitter", "collector", "ux", "section", "item", "note"}


@dataclass(frozen=True)
class Box:
    id: str
    label: str
    type: str
    x: float
    y: float
    w: float
    h: float
    # Drawing style: an executable kind, section / item / note, or "other".
    kind: str = "other"
    block: str | None = None
    is_block: bool = False
    # Where the node drills down to (only when the child really is this canvas's child).
    child_url: str | None = None

    @property
    def center(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    @property
    def title_at(self) -> tuple[float, float]:
        """A BMC block's title: top left."""
        return self.x + 12, self.y + 26

    @property
    def drill_at(self) -> tuple[float, float]:
        if self.is_block:
            return self.x + self.w - 8, self.y + 26
        return self.x + self.w - 8, self.y + self.h - 8

    @property
    def short_label(self) -> str:
        """The label cut to about what fits across the box (as static/canvas/view.js)."""
        size = max(4, int((self.w - 16) / (8.6 if self.is_block else 7.4)))
        return self.label if len(self.label) <= size else self.label[: size - 1] + "…"

    @property
    def executable(self) -> bool:
        return self.kind in {"worker", "splitter", "collector", "ux"}


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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _style(node_type: str) -> str:
    kind = node_kind({"type": node_type})
    if kind == "canvas":
        kind = node_type.lower()
    return kind if kind in KINDS else "other"


def _boxes(
    flow: Flow, children: Collection[str], link: Callable[[str], str] | None
) -> tuple[list[Box], list[Block]]:
    placed, blocks = canvas_layout(flow.graph, flow.canvas_type)
    boxes = []
    for node in placed:
        child = node.child_flow_id
        url = link(child) if link is not None and child is not None and child in children else None
        boxes.append(
            Box(
                id=node.id,
                label=node.label,
                type=node.type,
                x=node.x,
                y=node.y,
                w=node.w,
                h=node.h,
                kind=_style(node.type),
                block=node.block,
                is_block=node.is_block,
                child_url=url,
            )
        )
    return boxes, blocks


def _anchor(box: Box) -> tuple[float, float]:
    """Where edges attach: a BMC block's foot strip (where its entities stand, and
    blocks touch each other, so a border would give no line), else the centre."""
    if box.is_block:
        return box.x + box.w / 2, box.y + box.h - BLOCK_FOOT / 2
    return box.center


def _border(box: Box, toward: Box) -> tuple[float, float]:
    """Where the line from `box`'s centre to `toward`'s centre leaves `box`, so edges
    (and entities at progress 0 or 1) sit between the boxes, not under them; a BMC
    block's line starts in its foot strip."""
    (cx, cy), (tx, ty) = _anchor(box), _anchor(toward)
    if box.is_block:
        return cx, cy
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
    """Same string hash as the pages' script (static/canvas/dots.js), so colours agree."""
    value = 0
    for char in entity_type:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    return PALETTE[value % len(PALETTE)]


def dot_positions(
    entities: Iterable[Entity], boxes: dict[str, Box], lines: dict[str, Line]
) -> list[Dot]:
    """Dots in rows along the bottom of their node's box (a block's foot for a BMC
    section), or along their edge at their progress."""
    dots: list[Dot] = []
    per_node: dict[str, int] = defaultdict(int)
    for entity in sorted(entities, key=lambda e: (e.created_at, str(e.pk))):
        if entity.current_node_id in boxes:
            box, slot = boxes[entity.current_node_id], per_node[entity.current_node_id]
            per_node[entity.current_node_id] += 1
            cx = box.x + DOT_R + 4 + (slot % DOTS_PER_ROW) * DOT_GAP
            cy = box.y + box.h - DOT_R - 4 - (slot // DOTS_PER_ROW) * DOT_GAP
        elif entity.current_edge_id in lines:
            line, progress = lines[entity.current_edge_id], float(entity.edge_progress or 0)
            cx = line.x1 + (line.x2 - line.x1) * progress
            cy = line.y1 + (line.y2 - line.y1) * progress
        else:
            continue
        color = color_for(entity.entity_type)
        dots.append(Dot(str(entity.pk), entity.name, entity.entity_type, cx, cy, color))
    return dots


def _view_box(boxes: list[Box], blocks: list[Block]) -> tuple[float, float, float, float]:
    rects = [(b.x, b.y, b.w, b.h) for b in boxes] + [(b.x, b.y, b.w, b.h) for b in blocks]
    if not rects:
        return (-PAD, -PAD, 400.0, 200.0)
    left = min(x for x, _, _, _ in rects) - PAD
    top = min(y for _, y, _, _ in rects) - PAD
    right = max(x + w for x, _, w, _ in rects) + PAD
    bottom = max(y + h for _, y, _, h in rects) + PAD
    return (left, top, right - left, bottom - top)


def canvas_picture(
    flow: Flow,
    entities: Iterable[Entity] = (),
    *,
    children: Collection[str] = (),
    link: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Everything the SVG template needs, plus a JSON-ready copy for the page script.

    `children`: ids of this canvas's child flows; a node whose `data.childFlowId` is
    one of them links to `link(child id)`.
    """
    graph = flow.graph if isinstance(flow.graph, dict) else {}
    boxes, blocks = _boxes(flow, children, link)
    by_id = {box.id: box for box in boxes}
    lines = _lines(graph, by_id)
    dots = dot_positions(entities, by_id, {line.id: line for line in lines})
    claimed = {b.node_id for b in blocks if b.node_id is not None}
    return {
        "view_box": "{:g} {:g} {:g} {:g}".format(*_view_box(boxes, blocks)),
        "blocks": [b for b in blocks if b.node_id is None],
        "sections": [b for b in boxes if b.id in claimed],
        "nodes": [b for b in boxes if b.id not in claimed],
        "edges": [{"line": line, "mid": line.mid} for line in lines],
        "dots": dots,
        "geometry": {
            "canvas_id": str(flow.pk),
            "canvas_type": flow.canvas_type,
            "nodes": {box.id: asdict(box) for box in boxes},
            "edges": {line.id: asdict(line) for line in lines},
            "blocks": [asdict(b) for b in blocks],
            "dot": {"r": DOT_R, "gap": DOT_GAP, "per_row": DOTS_PER_ROW},
            "palette": PALETTE,
        },
    }
