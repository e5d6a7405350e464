"""Geometry of a canvas picture: BMC blocks, node boxes, edge paths, entity dots (SVG
coordinates). Nodes are placed by flows.layout (the nine-block BMC, free layout
otherwise), edges by entities.routes (through the gutters between BMC blocks).

Entities standing on a node are a row of dots in a strip kept for them: a BMC block's
foot (no card or edge reaches it), the bottom of any other box; past what the row holds,
a "+N" chip stands for the rest. Entities on an edge sit on its path at their progress.

Shared by the admin flow page (server-rendered) and the live page, whose script places
dots with the same rule (static/canvas/dots.js) as messages arrive.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass
from typing import Any

from entities.models import Entity
from entities.routes import Point, Rect, along, label_place, route, straight
from flows.graph import node_kind
from flows.layout import BLOCK_FOOT, Block, canvas_layout
from flows.models import Flow

PAD = 40
# An entity dot's radius and the distance between two dots' centres in a row; a row
# starts this far inside a block (a card or node: its box).
DOT_R, DOT_GAP = 6, 16
DOT_INSET_BLOCK, DOT_INSET = 12, 6
SPARK_ROOM = 60
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
    """An edge's path (from the source's border to the target's) and its label's place."""

    id: str
    label: str
    points: list[Point]
    label_at: dict[str, float | str]

    @property
    def d(self) -> str:
        return "M" + " L".join(f"{x:g} {y:g}" for x, y in self.points)

    @property
    def label_transform(self) -> str:
        at = self.label_at
        return f"rotate({at['rotate']:g} {at['x']:g} {at['y']:g})" if at["rotate"] else ""


@dataclass(frozen=True)
class Dot:
    id: str
    name: str
    entity_type: str
    cx: float
    cy: float
    color: str


@dataclass(frozen=True)
class Overflow:
    """The "+N" chip at the end of a full row: N entities more stand on the node."""

    node_id: str
    x: float
    y: float
    w: float
    h: float
    count: int

    @property
    def text(self) -> str:
        return f"+{self.count}"

    @property
    def text_at(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2 + 3.5


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


def _rect(box: Box | Block) -> Rect:
    return (box.x, box.y, box.w, box.h)


def _obstacles(boxes: list[Box], blocks: list[Block], source: Box, target: Box) -> list[Rect]:
    """What a routed edge must keep out of: every block but those of its ends, the
    cards standing in its ends' blocks (other cards lie inside an avoided block), and
    the nodes outside any block."""
    ends = {source.id, target.id}
    homes = {b.block for b in (source, target) if b.block is not None and not b.is_block}
    out = [_rect(b) for b in blocks if b.node_id is None and b.key not in homes]
    for box in boxes:
        if box.id in ends:
            continue
        if box.is_block:
            if box.block not in homes:
                out.append(_rect(box))
        elif box.block is None or box.block in homes:
            out.append(_rect(box))
    return out


def _lines(
    graph: dict[str, Any], boxes: list[Box], blocks: list[Block], routed: bool
) -> list[Line]:
    """Every drawable edge in graph order (a repeated id: its first); on a BMC routed
    through the gutters, each avoiding the paths drawn before it where it can."""
    by_id = {box.id: box for box in boxes}
    lines: list[Line] = []
    for edge in (e for e in graph.get("edges") or [] if isinstance(e, dict)):
        source, target = by_id.get(str(edge.get("source"))), by_id.get(str(edge.get("target")))
        edge_id = str(edge.get("id"))
        if source is None or target is None or any(line.id == edge_id for line in lines):
            continue
        data = _dict(edge.get("data"))
        label = str(data.get("label") or edge.get("label") or "")
        points = None
        if routed and source.id != target.id:
            earlier = [line.points for line in lines]
            points = route(
                _rect(source), _rect(target), _obstacles(boxes, blocks, source, target), earlier
            )
        if points is None:
            points = straight(_rect(source), _rect(target))
        lines.append(
            Line(id=edge_id, label=label, points=points, label_at=label_place(points, label))
        )
    return lines


def color_for(entity_type: str) -> str:
    """Same string hash as the pages' script (static/canvas/dots.js), so colours agree."""
    value = 0
    for char in entity_type:
        value = (value * 31 + ord(char)) & 0xFFFFFFFF
    return PALETTE[value % len(PALETTE)]


def dot_settings() -> dict[str, Any]:
    """The numbers static/canvas/dots.js places dots with."""
    return {
        "r": DOT_R,
        "gap": DOT_GAP,
        "inset": [DOT_INSET_BLOCK, DOT_INSET],
        "foot": BLOCK_FOOT,
        "spark": SPARK_ROOM,
    }


def dot_strip(box: Box) -> tuple[float, float, int]:
    """Where a node's row of dots goes: its left end, its centre line and how many
    dots it holds."""
    if box.is_block:
        left, cy = box.x + DOT_INSET_BLOCK, box.y + box.h - BLOCK_FOOT / 2
        room = box.w - 2 * DOT_INSET_BLOCK
    else:
        # The lower right corner of a box is the analytics chart's (static/canvas/overlay.js).
        left, cy = box.x + DOT_INSET, box.y + box.h - DOT_R - 4
        room = box.w - 2 * DOT_INSET - SPARK_ROOM
    return left, cy, max(3, int(room // DOT_GAP))


def _row(box: Box, count: int) -> tuple[list[Point], Overflow | None]:
    """The places of the first dots in a node's row and the chip for the rest: past
    a full row, the chip takes the last two places."""
    left, cy, slots = dot_strip(box)
    shown = count if count <= slots else slots - 2
    places = [(left + DOT_R + i * DOT_GAP, cy) for i in range(shown)]
    if shown == count:
        return places, None
    x = left + shown * DOT_GAP
    chip = Overflow(box.id, x, cy - DOT_R - 1, 2 * DOT_GAP - 2, 2 * DOT_R + 2, count - shown)
    return places, chip


def dot_positions(
    entities: Iterable[Entity], boxes: dict[str, Box], lines: dict[str, Line]
) -> tuple[list[Dot], list[Overflow]]:
    """Dots in their node's row (oldest first; the rest counted on a chip), or on their
    edge's path at their progress."""
    ordered = sorted(entities, key=lambda e: (e.created_at, str(e.pk)))
    standing: dict[str, list[Entity]] = defaultdict(list)
    places: dict[Any, Point] = {}
    for entity in ordered:
        if entity.current_node_id in boxes:
            standing[entity.current_node_id].append(entity)
        elif entity.current_edge_id in lines:
            line = lines[entity.current_edge_id]
            places[entity.pk] = along(line.points, float(entity.edge_progress or 0))
    chips = []
    for node_id, here in standing.items():
        row, chip = _row(boxes[node_id], len(here))
        places.update((entity.pk, place) for entity, place in zip(here, row, strict=False))
        if chip is not None:
            chips.append(chip)
    dots = [
        Dot(str(e.pk), e.name, e.entity_type, *places[e.pk], color_for(e.entity_type))
        for e in ordered
        if e.pk in places
    ]
    return dots, chips


def _view_box(
    boxes: list[Box], blocks: list[Block], lines: list[Line]
) -> tuple[float, float, float, float]:
    """The boxes, the blocks and the edge paths (a route may run round the outside of
    the BMC), with room for their labels."""
    rects = [(b.x, b.y, b.w, b.h) for b in boxes] + [(b.x, b.y, b.w, b.h) for b in blocks]
    margin = 24
    rects += [
        (x - margin, y - margin, 2 * margin, 2 * margin) for line in lines for x, y in line.points
    ]
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
    lines = _lines(graph, boxes, blocks, routed=flow.canvas_type == "bmc")
    dots, chips = dot_positions(entities, by_id, {line.id: line for line in lines})
    claimed = {b.node_id for b in blocks if b.node_id is not None}
    return {
        "view_box": "{:g} {:g} {:g} {:g}".format(*_view_box(boxes, blocks, lines)),
        "blocks": [b for b in blocks if b.node_id is None],
        "sections": [b for b in boxes if b.id in claimed],
        "nodes": [b for b in boxes if b.id not in claimed],
        "edges": lines,
        "dots": dots,
        "chips": chips,
        "geometry": {
            "canvas_id": str(flow.pk),
            "canvas_type": flow.canvas_type,
            "nodes": {box.id: asdict(box) for box in boxes},
            "edges": {line.id: asdict(line) for line in lines},
            "blocks": [asdict(b) for b in blocks],
            "dot": dot_settings(),
            "palette": PALETTE,
        },
    }
