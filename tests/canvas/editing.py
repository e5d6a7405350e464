"""Playwright moves of an operator on the canvas editor (shared by the browser tests)."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect


def open_editor(page: Page, url: str) -> None:
    """Go to an editor page and bring the editor into view (mouse moves use the viewport)."""
    page.goto(url)
    editor = page.locator("[data-canvas-editor]")
    expect(editor).to_have_attribute("data-ready", "true")
    editor.evaluate("el => el.scrollIntoView()")


def center(locator: Locator) -> tuple[float, float]:
    box = locator.bounding_box()
    assert box is not None, locator
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def node(page: Page, node_id: str) -> Locator:
    return page.locator(f'.editor-canvas .node[data-node-id="{node_id}"]')


def edge(page: Page, edge_id: str) -> Locator:
    return page.locator(f'.editor-canvas .edge[data-edge-id="{edge_id}"]')


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    # A few steps, as a hand would: the editor tells a drag from a click by distance.
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def canvas_point(page: Page, fx: float, fy: float) -> tuple[float, float]:
    """A point of the editor's drawing area, as fractions of its width and height."""
    box = page.locator("svg.editor-canvas").bounding_box()
    assert box is not None
    return box["x"] + box["width"] * fx, box["y"] + box["height"] * fy


def drop_from_palette(page: Page, node_type: str, at: tuple[float, float]) -> str:
    """Drag a palette button onto the canvas; returns the new node's id (it is selected)."""
    before = set(
        page.locator(".editor-canvas .node").evaluate_all("els => els.map(e => e.dataset.nodeId)")
    )
    drag(page, center(page.locator(f'.editor-palette [data-type="{node_type}"]')), at)
    added = page.locator(".editor-canvas .node.selected")
    expect(added).to_have_count(1)
    node_id = added.get_attribute("data-node-id")
    assert node_id and node_id not in before
    return node_id


def connect(page: Page, source: str, target: str) -> None:
    """Drag from the source's connector handle onto the target node."""
    drag(
        page,
        center(node(page, source).locator(".handle")),
        center(node(page, target).locator("rect")),
    )


def inspector(page: Page) -> Locator:
    return page.locator(".editor-inspector")


def wait_checked(page: Page) -> str:
    """Wait for the validate endpoint's answer on the current graph; returns the state."""
    status = page.locator(".editor-status")
    expect(status).not_to_have_attribute("data-state", "checking")
    return status.get_attribute("data-state") or ""


def save(page: Page) -> None:
    """The editor's Save button; returns once the page the save leads to has loaded."""
    with page.expect_navigation():
        page.locator(".editor-toolbar [data-action=save]").click()
    expect(page.locator("[data-canvas-editor]")).to_have_attribute("data-ready", "true")
