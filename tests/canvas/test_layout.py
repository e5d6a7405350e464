"""The nine-block BMC layout and the free layout (flows.layout), as the pictures use it."""

from __future__ import annotations

from flows.layout import BLOCK_GUTTER, BLOCK_KEYS, BMC_BLOCKS, ITEM_H, ITEM_W, canvas_layout


def section(key: str, **extra: object) -> dict:
    return {"id": f"s-{key}", "type": "section", "data": {"block": key, **extra}}


def block(key: str) -> tuple[int, int, int, int]:
    _, _, x, y, w, h = next(b for b in BMC_BLOCKS if b[0] == key)
    return x, y, w, h


def test_the_canvas_is_the_standard_nine_blocks_a_gutter_apart() -> None:
    assert BLOCK_KEYS == [
        "key-partners",
        "key-activities",
        "key-resources",
        "value-propositions",
        "customer-relationships",
        "channels",
        "customer-segments",
        "cost-structure",
        "revenue-streams",
    ]
    rects = [(x, y, w, h) for _, _, x, y, w, h in BMC_BLOCKS]
    width = max(x + w for x, _, w, _ in rects)
    height = max(y + h for _, y, _, h in rects)
    area = sum(w * h for *_, w, h in rects)
    # The frame is filled but for the gutters: 4 upright ones above, one across the
    # frame, one between the bottom two, one across each split column.
    upper = BMC_BLOCKS[0][5]
    gutters = 4 * BLOCK_GUTTER * upper + BLOCK_GUTTER * width
    gutters += BLOCK_GUTTER * (height - upper - BLOCK_GUTTER) + 2 * 300 * BLOCK_GUTTER
    assert area + gutters == width * height
    for i, a in enumerate(rects):  # no two blocks closer than a gutter
        for b in rects[i + 1 :]:
            apart_x = max(a[0], b[0]) - min(a[0] + a[2], b[0] + b[2])
            apart_y = max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])
            assert max(apart_x, apart_y) >= BLOCK_GUTTER, (a, b)


def test_a_section_naming_a_block_is_that_block_and_takes_its_title_by_default() -> None:
    placed, blocks = canvas_layout({"nodes": [section("channels")], "edges": []}, "bmc")
    [channels] = placed
    assert (channels.x, channels.y, channels.w, channels.h) == block("channels")
    assert channels.is_block and channels.label == "Channels"
    assert {b.key: b.node_id for b in blocks}["channels"] == "s-channels"
    assert sum(1 for b in blocks if b.node_id is None) == 8  # the others are drawn empty


def test_items_are_clamped_inside_their_block_or_put_in_its_next_free_slot() -> None:
    x, y, w, h = block("value-propositions")
    graph = {
        "nodes": [
            section("value-propositions"),
            {
                "id": "far",
                "type": "item",
                "position": {"x": -900, "y": 5000},
                "data": {"block": "value-propositions"},
            },
            {"id": "first", "type": "item", "data": {"block": "value-propositions"}},
            {"id": "second", "type": "item", "data": {"block": "value-propositions"}},
        ],
        "edges": [],
    }
    boxes = {p.id: p for p in canvas_layout(graph, "bmc")[0]}
    for item in ("far", "first", "second"):
        box = boxes[item]
        assert x <= box.x and box.x + box.w <= x + w, item
        assert y <= box.y and box.y + box.h <= y + h, item
        assert (box.w, box.h, box.block, box.is_block) == (
            ITEM_W,
            ITEM_H,
            "value-propositions",
            False,
        )
    assert boxes["second"].y > boxes["first"].y  # slots stack down the block


def test_nodes_naming_no_block_keep_their_position_and_other_canvas_types_ignore_blocks() -> None:
    graph = {
        "nodes": [
            {"id": "loose", "type": "note", "position": {"x": 2000, "y": 10}, "data": {}},
            {
                "id": "w",
                "type": "Worker",
                "position": {"x": 5, "y": 6},
                "data": {"block": "channels"},
            },
        ],
        "edges": [],
    }
    bmc = {p.id: p for p in canvas_layout(graph, "bmc")[0]}
    assert (bmc["loose"].x, bmc["loose"].y, bmc["loose"].block) == (2000, 10, None)
    assert bmc["w"].block == "channels"  # any node type can sit in a block on a BMC
    workflow = {p.id: p for p in canvas_layout(graph, "workflow")[0]}
    assert (workflow["w"].x, workflow["w"].y, workflow["w"].block) == (5, 6, None)


def test_a_second_section_for_a_taken_block_is_a_card_in_it_and_junk_is_tolerated() -> None:
    graph = {
        "nodes": [
            section("channels"),
            {"id": "more", "type": "section", "data": {"block": "channels"}},
            "junk",
            {"id": 7, "data": []},
        ],
        "edges": [],
    }
    placed, _ = canvas_layout(graph, "bmc")
    assert [p.is_block for p in placed] == [True, False, False]
    assert placed[2].label == "7"
    assert canvas_layout({"nodes": "x"}, "bmc")[0] == []
