"""The live page, closed with 4408 for falling behind (SPEC 9), reconnects at once and
resyncs from the fresh snapshot: headless Chromium against a real server process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import WebSocketRoute, expect, sync_playwright

from entities import services
from tests.entities.live_servers import (
    ROOT,
    child_env,
    free_port,
    processes,
    server_user,
    sign_in,
    uvicorn_command,
    wait_until_serving,
)
from tests.entities.test_live_page_browser import CHROMIUM, CHROMIUM_ARGS, demo_like_graph
from tests.factories import CanvasFactory, EntityFactory

SCREENSHOT = ROOT / "test-artifacts" / "live-page-after-4408.png"


class FallingBehind:
    """Routes the page's websockets through Playwright. The first one stops passing
    the server's frames on when told (the page misses them, as a page that could not
    keep up would) and is then closed with 4408, as the server closes a slow
    subscriber; later ones pass everything through."""

    def __init__(self) -> None:
        self.opened = 0
        self.holding = False
        self.first: WebSocketRoute | None = None

    def route(self, ws: WebSocketRoute) -> None:
        self.opened += 1
        server = ws.connect_to_server()
        if self.opened == 1:
            self.first = ws
            server.on_message(self._forward(ws))

    def _forward(self, ws: WebSocketRoute) -> Any:
        def forward(message: str | bytes) -> None:
            if not self.holding:
                ws.send(message)

        return forward


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_live_page_closed_with_4408_reconnects_and_shows_what_it_missed(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    operator = server_user(is_staff=True)
    canvas = CanvasFactory.create(owner=operator, name="Demo canvas", graph=demo_like_graph())
    walker = EntityFactory.create(canvas=canvas, name="Monica", entity_type="customer")
    services.entity_manual_move(entity_id=walker.pk, node_id="segments")
    headers = {"Authorization": f"Token {operator.auth_token.key}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    sockets = FallingBehind()

    with processes([uvicorn_command(port)], child_env(), tmp_path / "logs"):
        wait_until_serving(port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.route_web_socket(f"ws://127.0.0.1:{port}/ws/flows/{canvas.pk}/", sockets.route)
            sign_in(page, base, f"/flows/{canvas.pk}/live/")
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            dot = page.locator(f'circle[data-entity-id="{walker.pk}"]')
            expect(dot).to_have_attribute("data-node-id", "segments")

            sockets.holding = True
            moved = httpx.post(
                f"{base}/api/entities/{walker.pk}/move/",
                json={"node_id": "revenue"},
                headers=headers,
            )
            assert moved.status_code == 200, moved.text
            page.wait_for_timeout(300)
            expect(dot).to_have_attribute("data-node-id", "segments")  # missed it

            assert sockets.first is not None
            sockets.first.close(code=4408, reason="too slow")
            expect(dot).to_have_attribute("data-node-id", "revenue")  # from the new snapshot
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            assert sockets.opened == 2
            # An edit arrives as entity.updated without a journey event.
            renamed = httpx.patch(
                f"{base}/api/entities/{walker.pk}/", json={"name": "Monica G."}, headers=headers
            )
            assert renamed.status_code == 200, renamed.text
            expect(dot.locator("title")).to_have_text("Monica G. (customer)")
            page.wait_for_timeout(500)
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            browser.close()
