"""A 300-node workflow: the editor and the live page draw it all, fit it to the screen,
zoom and drag in it (smoothness is measured by bench/editor.py, not here)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from flows.models import Flow
from stitch.models import User
from tests.canvas.conftest import no_script_errors, screenshot
from tests.canvas.editing import center, drag, node, open_editor
from tests.factories import FlowFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]

COLUMNS, ROWS = 20, 15


def big_graph() -> dict[str, Any]:
    """300 echo Workers on a 20 x 15 grid, each row a chain, each row's end feeding the next."""
    nodes, edges = [], []
    for row in range(ROWS):
        for column in range(COLUMNS):
            node_id = f"n{row:02d}-{column:02d}"
            nodes.append(
                {
                    "id": node_id,
                    "type": "Worker",
                    "position": {"x": column * 240, "y": row * 140},
                    "data": {"label": f"Step {row * COLUMNS + column + 1}", "workerType": "echo"},
                }
            )
            if column:
                edges.append(
                    {
                        "id": f"e-{node_id}",
                        "source": f"n{row:02d}-{column - 1:02d}",
                        "target": node_id,
                    }
                )
        if row:
            edges.append(
                {
                    "id": f"e-row-{row}",
                    "source": f"n{row - 1:02d}-{COLUMNS - 1:02d}",
                    "target": f"n{row:02d}-00",
                }
            )
    return {"nodes": nodes, "edges": edges}


@pytest.fixture
def big(transactional_db: None) -> Flow:
    return FlowFactory.create(
        owner=UserFactory.create(username="ops", is_staff=True, is_superuser=True),
        name="Big",
        graph=big_graph(),
    )


def all_inside(page: Page, selector: str, frame: str) -> bool:
    return page.evaluate(
        """([selector, frame]) => {
            const f = document.querySelector(frame).getBoundingClientRect();
            return [...document.querySelectorAll(selector)].every(n => {
                const r = n.getBoundingClientRect();
                return r.left >= f.left - 1 && r.right <= f.right + 1
                    && r.top >= f.top - 1 && r.bottom <= f.bottom + 1;
            });
        }""",
        [selector, frame],
    )


def test_the_editor_draws_300_nodes_fits_them_and_still_zooms_and_drags(
    page_for: Callable[..., Page], server: str, big: Flow
) -> None:
    page = page_for(User.objects.get(username="ops"))
    open_editor(page, f"{server}/admin/flows/flow/{big.pk}/change/")
    expect(page.locator(".editor-canvas .node")).to_have_count(300)
    expect(page.locator(".editor-canvas .edge")).to_have_count(299)
    page.wait_for_timeout(100)  # one animation frame for the fitted view
    assert all_inside(page, ".editor-canvas .node rect", "svg.editor-canvas")
    screenshot(page, "editor-300-nodes")

    before = page.locator("svg.editor-canvas").get_attribute("viewBox")
    for _ in range(4):
        page.locator(".editor-toolbar [data-action=zoom-in]").click()
    expect(page.locator("svg.editor-canvas")).not_to_have_attribute("viewBox", before or "")
    assert not all_inside(page, ".editor-canvas .node rect", "svg.editor-canvas")
    page.locator(".editor-toolbar [data-action=fit]").click()
    page.wait_for_timeout(100)
    assert all_inside(page, ".editor-canvas .node rect", "svg.editor-canvas")
    start = center(node(page, "n07-10").locator("rect"))
    drag(page, start, (start[0] + 40, start[1] + 40))
    moved = page.evaluate(
        "document.querySelector('[data-canvas-editor]').editor.model.node('n07-10').position"
    )
    assert moved["x"] > 10 * 240 and moved["y"] > 7 * 140
    screenshot(page, "editor-300-nodes-dragged")
    no_script_errors(page)


def test_the_live_page_draws_300_nodes_fitted_to_the_screen(
    page_for: Callable[..., Page], server: str, big: Flow
) -> None:
    page = page_for(User.objects.get(username="ops"))
    page.goto(f"{server}/flows/{big.pk}/live/")
    expect(page.locator("#canvas-svg .node")).to_have_count(300)
    expect(page.locator("[data-analytics-panel]")).to_have_attribute("data-state", "ready")
    page.wait_for_timeout(100)
    assert all_inside(page, "#canvas-svg .node rect", "#canvas-svg")
    screenshot(page, "live-300-nodes")
    no_script_errors(page)
