"""The live canvas page in headless Chromium against a real server process."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect, sync_playwright

from entities import services
from tests.entities.live_servers import (
    ROOT,
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.factories import CanvasFactory, EntityFactory, UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOT = ROOT / "test-artifacts" / "live-page.png"


def demo_like_graph() -> dict:
    """A small BMC: segments -> value -> channels -> revenue, with labelled edges."""
    names = [("segments", "Customer segments"), ("value", "Value proposition")]
    names += [("channels", "Channels"), ("revenue", "Revenue streams")]
    nodes = [
        {"id": node_id, "type": "section", "position": {"x": i * 240, "y": (i % 2) * 140}}
        | {"data": {"label": label}}
        for i, (node_id, label) in enumerate(names)
    ]
    edges = [
        {"id": f"{a}-{b}", "source": a, "target": b, "data": {"label": f"to {b}"}}
        for (a, _), (b, _) in pairwise(names)
    ]
    return {"nodes": nodes, "edges": edges}


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_move_made_through_the_api_appears_on_the_live_page_without_reload(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    operator = UserFactory.create(username="operator", is_staff=True)
    # The server runs the product's settings, which know no test-speed MD5 hashes.
    operator.password = make_password("pw-for-tests", hasher="pbkdf2_sha256")
    operator.save(update_fields=["password"])
    canvas = CanvasFactory.create(owner=operator, name="Demo canvas", graph=demo_like_graph())
    walker = EntityFactory.create(canvas=canvas, name="Monica", entity_type="customer")
    services.entity_manual_move(entity_id=walker.pk, node_id="segments")
    traveller = EntityFactory.create(canvas=canvas, name="Ross", entity_type="lead")
    services.entity_journey_start(entity_id=traveller.pk, edge_id="value-channels")
    services.entity_progress(entity_id=traveller.pk, progress=0.5)
    token = operator.auth_token.key
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    # No ORM below this point: Playwright's sync API runs an event loop in this thread.
    with processes([uvicorn_command(port)], child_env(), tmp_path / "logs"):
        wait_until_serving(port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 720})
            page.goto(f"{base}/flows/{canvas.pk}/live/")
            assert "/accounts/login/" in page.url  # login required
            page.fill("#id_username", "operator")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.wait_for_url(f"{base}/flows/{canvas.pk}/live/")

            expect(page.locator("svg .node")).to_have_count(4)
            expect(page.locator("svg .edge")).to_have_count(3)
            expect(page.locator("svg .node text").first).to_have_text("Customer segments")
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            dot = page.locator(f'circle[data-entity-id="{walker.pk}"]')
            expect(dot).to_have_attribute("data-node-id", "segments")
            before = (dot.get_attribute("cx"), dot.get_attribute("cy"))

            moved = httpx.post(
                f"{base}/api/entities/{walker.pk}/move/",
                json={"edge_id": "segments-value"},
                headers={"Authorization": f"Token {token}"},
            )
            assert moved.status_code == 200, moved.text
            expect(dot).to_have_attribute("data-edge-id", "segments-value")
            assert (dot.get_attribute("cx"), dot.get_attribute("cy")) != before
            expect(page.locator("#events li").first).to_contain_text("Monica edge_start")

            httpx.post(
                f"{base}/api/entities/{traveller.pk}/move/",
                json={"arrive": True},
                headers={"Authorization": f"Token {token}"},
            )
            traveller_dot = page.locator(f'circle[data-entity-id="{traveller.pk}"]')
            expect(traveller_dot).to_have_attribute("data-node-id", "channels")
            page.wait_for_timeout(500)  # let the dot's transition settle for the picture
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
            browser.close()
