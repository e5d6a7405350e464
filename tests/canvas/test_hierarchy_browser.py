"""The demo's BMC in the nine-block layout, and the drill-down BMC -> workflow -> detail
and back up, on the live page (click) and in the editor (double-click)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from flows.layout import BLOCK_KEYS
from flows.models import Flow
from stitch.models import User
from tests.canvas.conftest import no_script_errors, screenshot
from tests.canvas.editing import center, node, open_editor

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def inside(inner: Any, outer: Any) -> bool:
    assert inner is not None and outer is not None
    return (
        outer["x"] <= inner["x"]
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and outer["y"] <= inner["y"]
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def test_the_bmc_shows_nine_blocks_with_their_items_and_drills_down_and_back_up(
    page_for: Callable[..., Page], server: str, demo: dict[str, Flow]
) -> None:
    bmc, workflow, detail = demo["bmc"], demo["workflow"], demo["detail"]
    page = page_for(User.objects.get(username="operator"))
    page.goto(f"{server}/flows/{bmc.pk}/live/")
    blocks = page.locator("#canvas-svg .node[data-kind=section][data-block]")
    expect(blocks).to_have_count(9)
    assert sorted(blocks.evaluate_all("els => els.map(e => e.dataset.block)")) == sorted(BLOCK_KEYS)
    titles = page.locator("#canvas-svg .node[data-kind=section] .title").all_text_contents()
    assert "Key Partners" in titles and "Revenue Streams" in titles
    # Every item is drawn inside the block it names, and so are the entities standing
    # on a block.
    for item in bmc.graph["nodes"]:
        if item["type"] != "item":
            continue
        block = page.locator(f'#canvas-svg .node[data-node-id="{item["data"]["block"]}"] rect')
        card = page.locator(f'#canvas-svg .node[data-node-id="{item["id"]}"] rect')
        assert inside(card.bounding_box(), block.bounding_box()), item["id"]
    ada = page.locator("#canvas-svg .entity-dot").first
    expect(ada).to_have_attribute("data-node-id", "customer-segments")
    segments = page.locator('#canvas-svg .node[data-node-id="customer-segments"] rect')
    assert inside(ada.bounding_box(), segments.bounding_box())
    screenshot(page, "bmc-live")

    # Down: the Customer Relationships section opens the onboarding workflow...
    page.locator('#canvas-svg a.drill .node[data-node-id="customer-relationships"] rect').click()
    page.wait_for_url(f"**/flows/{workflow.pk}/live/")
    crumbs = page.locator("nav.canvas-breadcrumbs")
    expect(crumbs.locator("a")).to_have_text([bmc.name])
    # ...whose review step opens the detail canvas.
    page.locator('#canvas-svg a.drill .node[data-node-id="review"] rect').click()
    page.wait_for_url(f"**/flows/{detail.pk}/live/")
    expect(crumbs.locator("a")).to_have_text([bmc.name, workflow.name])
    expect(crumbs.locator("[aria-current=page]")).to_have_text(detail.name)
    screenshot(page, "bmc-drilled-down-to-detail")
    # Up again through the breadcrumbs.
    crumbs.get_by_role("link", name=bmc.name).click()
    page.wait_for_url(f"**/flows/{bmc.pk}/live/")
    expect(page.locator("#canvas-svg .node[data-block]")).to_have_count(9 + 15)
    no_script_errors(page)


def test_in_the_editor_a_double_click_opens_the_child_and_the_breadcrumbs_lead_back(
    page_for: Callable[..., Page], server: str, demo: dict[str, Flow]
) -> None:
    bmc, workflow = demo["bmc"], demo["workflow"]
    page = page_for(User.objects.get(username="operator"))
    open_editor(page, f"{server}/admin/flows/flow/{bmc.pk}/change/")
    expect(page.locator(".editor-canvas .node[data-kind=section][data-block]")).to_have_count(9)
    expect(page.locator(".editor-canvas .bmc-block")).to_have_count(
        0
    )  # every block has its section
    expect(page.locator(".editor-canvas .entity-dot")).to_have_count(4)  # the demo entities
    screenshot(page, "bmc-editor")
    page.mouse.dblclick(*center(node(page, "customer-relationships").locator(".label")))
    page.wait_for_url(f"**/admin/flows/flow/{workflow.pk}/change/")
    expect(page.locator("[data-canvas-editor]")).to_have_attribute("data-ready", "true")
    expect(node(page, "review")).to_have_class(re.compile(r"\bhas-child\b"))
    page.locator("nav.canvas-breadcrumbs").get_by_role("link", name=bmc.name).click()
    page.wait_for_url(f"**/admin/flows/flow/{bmc.pk}/change/")
    no_script_errors(page)
