"""Browser tests of the canvas pages: a uvicorn process per test (the product's
settings, against the test database) and one headless Chromium per module; each test
gets a fresh page signed in as the user it names, and leaves a screenshot in
test-artifacts/.

A server per test, not per module: the database is flushed between tests, which gives
content types new ids, and a longer-lived server would keep the old ones cached.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import Client
from playwright.sync_api import Browser, Page, sync_playwright

from flows.models import Flow
from stitch.models import User
from tests.entities.live_servers import (
    ROOT,
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.entities.test_live_page_browser import CHROMIUM, CHROMIUM_ARGS

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """Base URL of a real server on the test database (its rows are the tests' rows)."""
    port = free_port()
    logs = tmp_path / "server"
    # Same secret as this process, so the session cookies made here are valid there.
    env = child_env(SECRET_KEY=settings.SECRET_KEY, STITCH_VAR_DIR=str(logs / "var"))
    with processes([uvicorn_command(port)], env, logs):
        wait_until_serving(port)
        yield f"http://127.0.0.1:{port}"


def in_a_thread(work: Callable[[], Any]) -> Any:
    """Run `work` in a thread of its own: the demo's runs and the movement services use
    async_to_sync, which refuses to run in a thread where Playwright keeps an event loop."""

    def closing() -> Any:
        try:
            return work()
        finally:
            connections.close_all()  # this thread's connection, so the test database can go

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(closing).result()


@pytest.fixture
def demo(transactional_db: None, settings, tmp_path: Path) -> dict[str, Flow]:
    """`manage.py demo_setup`: the BMC, its onboarding workflow and detail canvas."""
    settings.VAR_DIR = tmp_path
    in_a_thread(lambda: call_command("demo_setup", stdout=io.StringIO()))
    return {kind: Flow.objects.get(canvas_type=kind) for kind in ("bmc", "workflow", "detail")}


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium (make test does)"
    # Playwright's sync API keeps an event loop in this thread; Django's ORM then
    # refuses to run here unless told it is safe, which it is: the tests call the ORM
    # between browser calls, never inside one.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page_for(
    request: pytest.FixtureRequest, server: str, chromium: Browser, transactional_db: None
) -> Iterator[Callable[..., Page]]:
    """page_for(user): a page whose browser is signed in as `user` (a session cookie;
    None: not signed in).
    A failing test leaves a picture of each of its pages in test-artifacts/failed-*.png."""
    contexts: list[Any] = []

    def open_page(user: User | None, width: int = 1400, height: int = 900) -> Page:
        context = chromium.new_context(viewport={"width": width, "height": height})
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies["sessionid"].value
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": server}])
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors  # type: ignore[attr-defined]
        return page

    yield open_page
    for index, context in enumerate(contexts):
        if request.node.stash.get(FAILED, False):
            for number, page in enumerate(context.pages):
                screenshot(page, f"failed-{request.node.name}-{index}-{number}")
        context.close()


def screenshot(page: Page, name: str, **options: Any) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), **options)
    return path


def no_script_errors(page: Page) -> None:
    assert page.js_errors == []  # type: ignore[attr-defined]
