"""Where each node of a canvas is drawn: the nine-block Business Model Canvas and the
free layout of workflows and detail canvases (SPEC 11).

The convention (README, "The canvas"): a node of a `bmc` canvas says which block it
belongs to with `data.block`, one of `BMC_BLOCKS`' keys. The first node of type
`section` naming a block *is* that block (its box is the block, its label the block's
title, entities standing on it sit in a row in the block's foot strip, which no card
or edge covers); any other node naming a
block (an `item`, a `note`, even a second section) is a card inside it, at its stored
position clamped into the block, or in the block's next free slot when it has none.
A node naming no block keeps its free position. Other canvas types ignore `data.block`.

The editor repeats this in JavaScript (static/canvas/layout.js) from the numbers in
`layout_settings()`; a browser test checks both agree on the demo canvas.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Free layout (workflows, detail canvases, BMC nodes outside any block).
NODE_W, NODE_H = 180, 64
SECTION_W, SECTION_H = 260, 140
# Cards inside a BMC block, and the block's margins: a title bar on top (the title, and
# a line of analytics under it), and a strip at the bottom kept free of cards and
# lines, where the entities standing on the section are drawn (entities/picture.py).
ITEM_W, ITEM_H, ITEM_GAP = 260, 56, 16
BLOCK_PAD, BLOCK_TITLE, BLOCK_FOOT = 20, 58, 36

# The standard nine-block layout (Osterwalder): five columns above, two halves below,
# the blocks a gutter apart, so edges between blocks run through the gutters (never
# over a block's cards, see entities/routes.py) and arrowheads touch the border.
BLOCK_GUTTER = 64
_COLUMN, _HALF, _FOOT_ROW = 300, 320, 280
_X = [i * (_COLUMN + BLOCK_GUTTER) for i in range(5)]
_LOW = _HALF + BLOCK_GUTTER  # top of the lower half of a split column
_TALL = 2 * _HALF + BLOCK_GUTTER
_WIDTH = _X[4] + _COLUMN
_BOTTOM = _TALL + BLOCK_GUTTER  # top of Cost Structure / Revenue Streams
_HALF_W = (_WIDTH - BLOCK_GUTTER) // 2
BMC_BLOCKS: list[tuple[str, str, int, int, int, int]] = [
    ("key-partners", "Key Partners", _X[0], 0, _COLUMN, _TALL),
    ("key-activities", "Key Activities", _X[1], 0, _COLUMN, _HALF),
    ("key-resources", "Key Resources", _X[1], _LOW, _COLUMN, _HALF),
    ("value-propositions", "Value Propositions", _X[2], 0, _COLUMN, _TALL),
    ("customer-relationships", "Customer Relationships", _X[3], 0, _COLUMN, _HALF),
    ("channels", "Channels", _X[3], _LOW, _COLUMN, _HALF),
    ("customer-segments", "Customer Segments", _X[4], 0, _COLUMN, _TALL),
    ("cost-structure", "Cost Structure", 0, _BOTTOM, _HALF_W, _FOOT_ROW),
    ("revenue-streams", "Revenue Streams", _WIDTH - _HALF_W, _BOTTOM, _HALF_W, _FOOT_ROW),
]
BLOCK_KEYS = [key for key, *_ in BMC_BLOCKS]


@dataclass(frozen=True)
class Block:
    key: str
    title: str
    x: float
    y: float
    w: float
    h: float
    # The section node that is this block, if the canvas has one.
    node_id: str | None = None

    @property
    def title_at(self) -> tuple[float, float]:
        return self.x + 12, self.y + 26


@dataclass(frozen=True)
class Placed:
    """A node's box; `block` is the BMC block it sits in (or is, for a section)."""

    id: str
    type: str
    label: str
    x: float
    y: float
    w: float
    h: float
    block: str | None = None
    # True for the section that is its BMC block (drawn as the block, fixed in place).
    is_block: bool = False
    child_flow_id: str | None = None


def layout_settings() -> dict[str, Any]:
    """The numbers the editor's layout.js needs to place nodes as this module does."""
    return {
        "node": [NODE_W, NODE_H],
        "section": [SECTION_W, SECTION_H],
        "item": [ITEM_W, ITEM_H, ITEM_GAP],
        "block": [BLOCK_PAD, BLOCK_TITLE, BLOCK_FOOT],
        "gutter": BLOCK_GUTTER,
        "blocks": [
            {"key": key, "title": title, "x": x, "y": y, "w": w, "h": h}
            for key, title, x, y, w, h in BMC_BLOCKS
        ],
    }


def _number(value: Any) -> float | None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if ok else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, max(low, high)))


def _slot(block: Block, index: int) -> tuple[float, float]:
    """Top-left corner of the `index`th free slot of a block (rows of cards)."""
    inner = block.w - 2 * BLOCK_PAD
    columns = max(1, int((inner + ITEM_GAP) // (ITEM_W + ITEM_GAP)))
    row, column = divmod(index, columns)
    return (
        block.x + BLOCK_PAD + column * (ITEM_W + ITEM_GAP),
        block.y + BLOCK_TITLE + row * (ITEM_H + ITEM_GAP),
    )


def _inside(block: Block, x: float, y: float) -> tuple[float, float]:
    """A card's corner clamped into the block, below its title and above its foot."""
    width = min(ITEM_W, block.w - 2 * BLOCK_PAD)
    return (
        _clamp(x, block.x + BLOCK_PAD, block.x + block.w - BLOCK_PAD - width),
        _clamp(y, block.y + BLOCK_TITLE, block.y + block.h - BLOCK_FOOT - ITEM_H),
    )


def block_slot(key: str, index: int) -> dict[str, float]:
    """Position of the `index`th card slot of block `key` (for graphs built in code)."""
    block = next(Block(k, t, x, y, w, h) for k, t, x, y, w, h in BMC_BLOCKS if k == key)
    x, y = _slot(block, index)
    return {"x": x, "y": y}


def _free_size(kind: str) -> tuple[int, int]:
    return (SECTION_W, SECTION_H) if kind == "section" else (NODE_W, NODE_H)


def _nodes(graph: Any) -> list[dict[str, Any]]:
    nodes = graph.get("nodes") if isinstance(graph, dict) else None
    return [n for n in nodes if isinstance(n, dict)] if isinstance(nodes, list) else []


def _claim_blocks(nodes: list[dict[str, Any]]) -> dict[str, Block]:
    """The nine blocks, each taken by the first section node that names it."""
    owners: dict[str, str] = {}
    for node in nodes:
        key = _dict(node.get("data")).get("block")
        is_section = str(node.get("type") or "").lower() == "section"
        if is_section and key in BLOCK_KEYS and key not in owners:
            owners[key] = str(node.get("id"))
    return {
        key: Block(key, title, x, y, w, h, owners.get(key)) for key, title, x, y, w, h in BMC_BLOCKS
    }


def canvas_layout(graph: Any, canvas_type: str) -> tuple[list[Placed], list[Block]]:
    """Every node's box in graph order, and the BMC blocks (none for other types)."""
    nodes = _nodes(graph)
    blocks = _claim_blocks(nodes) if canvas_type == "bmc" else {}
    unplaced: dict[str, int] = {}
    placed = []
    for index, node in enumerate(nodes):
        node_id, data = str(node.get("id")), _dict(node.get("data"))
        kind = str(node.get("type") or "").lower()
        position = _dict(node.get("position"))
        x, y = _number(position.get("x")), _number(position.get("y"))
        key = data.get("block")
        block = blocks.get(key) if isinstance(key, str) else None
        if block is not None and block.node_id == node_id:
            box: tuple[float, float, float, float] = (block.x, block.y, block.w, block.h)
        elif block is not None:
            if x is None or y is None:
                x, y = _slot(block, unplaced.get(block.key, 0))
                unplaced[block.key] = unplaced.get(block.key, 0) + 1
            box = (*_inside(block, x, y), min(ITEM_W, block.w - 2 * BLOCK_PAD), ITEM_H)
        else:
            w, h = _free_size(kind)
            # Nodes without a position fall on a grid rather than on top of each other.
            box = (
                x if x is not None else (index % 4) * (NODE_W + 60),
                y if y is not None else (index // 4) * (NODE_H + 80),
                w,
                h,
            )
        child = data.get("childFlowId")
        is_block = block is not None and block.node_id == node_id
        title = block.title if block is not None and is_block else ""
        placed.append(
            Placed(
                id=node_id,
                type=str(node.get("type") or ""),
                label=str(data.get("label") or title or node_id),
                x=box[0],
                y=box[1],
                w=box[2],
                h=box[3],
                block=block.key if block else None,
                is_block=is_block,
                child_flow_id=child if isinstance(child, str) and child else None,
            )
        )
    return placed, list(blocks.values())
