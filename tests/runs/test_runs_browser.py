"""The run view and the task inbox in headless Chromium against a real server process
(jobs run inside it), with a real HTTP worker on 127.0.0.1."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import Page, expect, sync_playwright

from stitch.models import User
from tests.engine.conftest import edge
from tests.engine.worker_server import WorkerServer
from tests.entities.live_servers import (
    ROOT,
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.entities.test_live_page_browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories import EntityFactory, UserFactory
from tests.runs.conftest import start, step, workflow

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "pw-for-tests"
FIELDS = [
    {"name": "approved", "type": "boolean", "label": "Approve the account"},
    {"name": "amount", "type": "number", "label": "Credit limit", "required": True},
    {"name": "note", "type": "text", "label": "Note", "required": True},
]


def person(username: str, **kwargs: Any) -> User:
    user = UserFactory.create(username=username, **kwargs)
    # The server runs the product's settings, which know no test-speed MD5 hashes.
    user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    return user


@pytest.fixture
def worker() -> Iterator[WorkerServer]:
    server = WorkerServer().start()
    yield server
    server.stop()


@contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[str, Page]]:
    """A uvicorn process (jobs in the web process) and a Chromium page on it. Create
    data before entering: Playwright's sync API runs an event loop in this thread,
    where the ORM refuses to work."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = child_env(PUBLIC_BASE_URL=base)
    with processes([uvicorn_command(port)], env, tmp_path / "logs"):
        wait_until_serving(port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield base, browser.new_page(viewport={"width": 1400, "height": 900})
            browser.close()


def sign_in(page: Page, username: str) -> None:
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.wait_for_timeout(300)  # let colour transitions settle for the picture
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_a_run_started_in_the_admin_turns_its_worker_completed_when_the_callback_arrives(
    tmp_path, worker
) -> None:
    operator = person("operator", is_staff=True, is_superuser=True)
    flow = workflow(
        operator,
        [
            step("enrich", "Worker", 0, label="Enrich customer", webhookUrl=worker.url),
            step("review", "UX", 280, 60, label="Review the account", fields=FIELDS),
        ],
        [edge("enrich", "review")],
    )
    with serving(tmp_path) as (base, page):
        watch_a_worker_complete(base, page, flow, worker)


def watch_a_worker_complete(base: str, page: Page, flow: Any, worker: WorkerServer) -> None:
    page.goto(f"{base}/admin/flows/run/add/")
    sign_in(page, "operator")
    page.wait_for_url(f"{base}/admin/flows/run/add/")
    page.select_option("#id_workflow", str(flow.pk))
    page.fill("#id_input", '{"customer": {"name": "Ada Lovelace"}}')
    page.click("input[name=_start]")
    page.wait_for_url(re.compile(r".*/admin/flows/run/[0-9a-f-]{36}/change/$"))
    expect(page.locator(".messagelist")).to_contain_text("Run started on")
    expect(page.locator("#run-live")).to_have_attribute("data-state", "live")
    enrich = page.locator('g.node[data-node-id="enrich"]')
    review = page.locator('g.node[data-node-id="review"]')
    expect(enrich).to_have_attribute("data-status", "running")
    expect(review).to_have_attribute("data-status", "pending")

    dispatch = wait_for(lambda: worker.bodies("enrich"), "the dispatch to reach the worker")[0]
    assert dispatch["input"] == {"customer": {"name": "Ada Lovelace"}}
    reply = httpx.post(
        dispatch["callback_url"], json={"status": "completed", "output": {"score": 42}}
    )
    assert reply.status_code == 200, reply.text

    expect(enrich).to_have_attribute("data-status", "completed")  # no reload
    expect(review).to_have_attribute("data-status", "waiting_for_user")
    expect(page.locator("#run-status")).to_have_text("waiting")
    enrich.click()
    expect(page.locator("#node-output")).to_contain_text('"score": 42')
    expect(page.locator(".node-panel")).to_contain_text("Attempts")
    shot(page, "run-view.png")


def test_a_task_completed_from_the_inbox_through_its_form_completes_the_run(tmp_path) -> None:
    casey = person("casey")  # a canvas owner, not staff
    flow = workflow(
        casey,
        [step("review", "UX", 0, label="Approve the credit", fields=FIELDS)],
        [],
    )
    grace = EntityFactory.create(canvas__owner=casey, name="Grace Hopper")
    first = start(flow, {"order": 1}, entity=grace)
    with serving(tmp_path) as (base, page):
        complete_from_the_inbox(base, page, flow, first, casey.auth_token.key)


def complete_from_the_inbox(base: str, page: Page, flow: Any, first: Any, token: str) -> None:
    page.goto(f"{base}/tasks/")
    assert "/accounts/login/" in page.url
    sign_in(page, "casey")
    page.wait_for_url(f"{base}/tasks/")
    rows = page.locator("tr.task")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Grace Hopper")
    expect(rows.first).to_contain_text(flow.name)
    expect(page.locator("#inbox-live")).to_have_attribute("data-state", "live")

    started = httpx.post(
        f"{base}/api/flows/{flow.pk}/runs/",
        json={"input": {"order": 2}},
        headers={"Authorization": f"Token {token}"},
    )
    assert started.status_code == 201, started.text
    expect(rows).to_have_count(2)  # appeared live, oldest first
    expect(rows.nth(1)).to_have_attribute("data-run-id", started.json()["id"])
    shot(page, "inbox.png")

    page.locator(f'tr.task[data-run-id="{first.pk}"] a.button').click()
    page.wait_for_url(re.compile(r".*/complete/\?node=review.*"))
    page.fill("#id_output-amount", "1500")
    page.click(".complete-form button[type=submit]")  # the note is required
    expect(page.locator('[data-field="note"] .errorlist')).to_have_text("This field is required.")
    page.check("#id_output-approved")
    page.fill("#id_output-note", "Checked the references")
    shot(page, "task-form.png")
    page.click(".complete-form button[type=submit]")
    page.wait_for_url(f"{base}/tasks/")
    expect(page.locator(".messagelist")).to_contain_text("the run is now completed")
    expect(rows).to_have_count(1)

    page.goto(f"{base}/runs/{first.pk}/")
    expect(page.locator("#run-status")).to_have_text("completed")
    expect(page.locator('g.node[data-node-id="review"]')).to_have_attribute(
        "data-status", "completed"
    )
    page.locator('g.node[data-node-id="review"]').click()
    expect(page.locator("#node-output")).to_contain_text('"note": "Checked the references"')
    detail = httpx.get(f"{base}/api/runs/{first.pk}/", headers={"Authorization": f"Token {token}"})
    assert detail.json()["status"] == "completed"
    assert detail.json()["node_states"]["review"]["output"] == {
        "approved": True,
        "amount": 1500.0,
        "note": "Checked the references",
    }
    shot(page, "run-completed.png")


def test_a_thousand_way_split_shows_counts_and_expands_to_a_paged_list(tmp_path) -> None:
    from tests.jobrunner import jobs_clear
    from tests.runs.conftest import finish, split_flow

    casey = person("casey")
    run = start(split_flow(casey), {"items": list(range(1000))})
    for i in range(812):
        finish(run, f"w_{i}", output={"done": i})
    for i in (812, 813, 814):
        finish(run, f"w_{i}", "failed", error=f"worker answered HTTP 500 for item {i}")
    jobs_clear()  # the other 185 stay running: their worker has not been reached
    with serving(tmp_path) as (base, page):
        browse_a_big_split(base, page, run)


def browse_a_big_split(base: str, page: Page, run: Any) -> None:
    page.goto(f"{base}/runs/{run.pk}/?node=w")
    sign_in(page, "casey")
    page.wait_for_url(re.compile(r".*/runs/.*"))
    template = page.locator('g.node[data-node-id="w"]')
    expect(template).to_have_attribute("data-status", "failed")
    expect(template.locator("text.run-instances")).to_have_text(
        "812 completed, 3 failed, 185 running"
    )
    expect(page.locator("#instance-breakdown")).to_contain_text(
        "1000 instances: 812 completed, 3 failed, 185 running"
    )
    page.click("details.instances summary")
    rows = page.locator(".instance-list tbody tr")
    expect(rows).to_have_count(100)
    expect(page.locator(".instance-list .pager")).to_contain_text("page 1 of 10")
    page.click('.instance-list a[data-instances-link]:text-is("failed")')
    expect(rows).to_have_count(3)
    shot(page, "run-split.png")
    page.click('.instance-list a[data-select-node="w_813"]')
    expect(page.locator(".node-panel")).to_have_attribute("data-node-id", "w_813")
    expect(page.locator("#node-error")).to_have_text("worker answered HTTP 500 for item 813")
    expect(page.locator(".node-panel")).to_contain_text("Retry this node")
