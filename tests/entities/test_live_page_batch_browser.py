"""Pages that read the canvas socket unpack batch frames (README, Realtime): headless
Chromium against a real server process whose sockets get at most one frame per 5 s, so
changes made right after another reach the page together in one `{"type": "batch"}`
frame."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, WebSocket, expect, sync_playwright

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
from tests.runs.conftest import start, ux_only_flow

SCREENSHOT = ROOT / "test-artifacts" / "live-page-batch.png"


@contextmanager
def watched_page(tmp_path: Path) -> Iterator[tuple[str, Page, list[dict]]]:
    """A server process (its sockets get at most one frame per 5 s) and a Chromium page
    on it; yields the base URL, the page and the frames its websockets receive. No ORM
    inside: Playwright's sync API runs an event loop in this thread."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    frames: list[dict] = []

    def watch(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)))

    env = child_env(REALTIME_COALESCE_MS="5000", PUBLIC_BASE_URL=base)
    with processes([uvicorn_command(port)], env, tmp_path / "logs"), sync_playwright() as pw:
        wait_until_serving(port)
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.on("websocket", watch)
        yield base, page, frames
        browser.close()


def wait_until(page: Page, condition: Callable[[], bool], what: object) -> None:
    """Playwright reports events to this thread a little after the page has them."""
    deadline = time.monotonic() + 15
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        page.wait_for_timeout(50)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_moves_that_arrive_in_one_batch_frame_all_appear_on_the_live_page(tmp_path: Path):
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    operator = server_user(is_staff=True)
    canvas = CanvasFactory.create(owner=operator, name="Batch canvas", graph=demo_like_graph())
    names = ["Monica", "Ross", "Rachel"]
    people = [EntityFactory.create(canvas=canvas, name=name) for name in names]
    headers = {"Authorization": f"Token {operator.auth_token.key}"}
    nodes = ["segments", "value", "channels"]

    with watched_page(tmp_path) as (base, page, frames):

        def dot(person) -> Locator:
            return page.locator(f'circle[data-entity-id="{person.pk}"]')

        sign_in(page, base, f"/flows/{canvas.pk}/live/")
        expect(page.locator("#status")).to_have_attribute("data-state", "live")

        with httpx.Client(base_url=base, headers=headers, timeout=10) as api:
            # The first move after a quiet spell goes out at once, on its own; the two
            # right after it wait for the next flush and travel together.
            for index, (person, node) in enumerate(zip(people, nodes, strict=True)):
                moved = api.post(f"/api/entities/{person.pk}/move/", json={"node_id": node})
                assert moved.status_code == 200, moved.text
                if index == 0:
                    expect(dot(person)).to_have_attribute("data-node-id", node)

        for person, node in zip(people, nodes, strict=True):
            expect(dot(person)).to_have_attribute("data-node-id", node, timeout=15_000)
        for name in names:
            expect(page.locator("#events")).to_contain_text(f"{name} manual_move")
        batches = [frame for frame in frames if frame["type"] == "batch"]
        assert [[m["entity"]["name"] for m in batch["messages"]] for batch in batches] == [
            ["Ross", "Rachel"]
        ]
        assert frames[1]["type"] == "entity.updated"  # after the snapshot, Monica alone
        page.wait_for_timeout(500)  # let the dots' transitions settle for the picture
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_run_view_applies_run_updates_that_arrive_in_a_batch_frame(tmp_path: Path):
    """The run view reads `run.updated` from the workflow's canvas socket through
    flows/static/runs/live_socket.js, which hands a batch's messages over one by one."""
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    operator = server_user(is_staff=True)
    flow = ux_only_flow(operator)
    run = start(flow)
    headers = {"Authorization": f"Token {operator.auth_token.key}"}
    with watched_page(tmp_path) as (base, page, frames):
        fetched: list[str] = []
        page.on("requestfinished", lambda request: fetched.append(request.url))
        sign_in(page, base, f"/runs/{run.pk}/")
        expect(page.locator("#run-live")).to_have_attribute("data-state", "live")
        expect(page.locator("#run-status")).to_have_text("waiting")
        # The page fetches the run's state once when its socket opens; after that only
        # a message about our run makes it fetch again.
        state_url = base + (page.get_attribute("#run-view", "data-state-url") or "")
        wait_until(page, lambda: state_url in fetched, "the fetch on open")

        with httpx.Client(base_url=base, headers=headers, timeout=10) as api:
            # Another run of the workflow: its first message goes out at once and
            # opens a flush interval; completing our run's task right after puts our
            # run's messages in the batch that closes it.
            other = api.post(f"/api/flows/{flow.pk}/runs/", json={"input": {}})
            assert other.status_code == 201, other.text
            done = api.post(f"/api/runs/{run.pk}/nodes/review/complete/", json={"output": {}})
            assert done.status_code == 200, done.text

        expect(page.locator("#run-status")).to_have_text("completed", timeout=15_000)
        review = page.locator('g.node[data-node-id="review"]')
        expect(review).to_have_attribute("data-status", "completed")

        def batched_updates_of_our_run() -> list[tuple[str | None, str]]:
            return [
                (message["node_id"], message["status"])
                for frame in frames
                if frame["type"] == "batch"
                for message in frame["messages"]
                if message["type"] == "run.updated" and message["run_id"] == str(run.pk)
            ]

        wait_until(page, lambda: (None, "completed") in batched_updates_of_our_run(), frames)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ROOT / "test-artifacts" / "run-view-batch.png"), full_page=True)
