"""The admin's bulk replay in headless Chromium against a real server process: filter
the failed events, select all of them, read how many on the confirmation page, confirm."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from playwright.sync_api import expect, sync_playwright

from tests.entities.live_servers import (
    ROOT,
    child_env,
    free_port,
    processes,
    uvicorn_command,
    wait_until_serving,
)
from tests.entities.test_live_page_browser import CHROMIUM, CHROMIUM_ARGS
from tests.factories import CanvasFactory, UserFactory, WebhookConfigFactory, WebhookEventFactory
from webhooks.models import WebhookEvent

SCREENSHOTS = ROOT / "test-artifacts"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_operator_replays_the_failed_events_after_a_page_that_says_how_many(
    tmp_path: Path,
) -> None:
    operator = UserFactory.create(username="operator", is_staff=True, is_superuser=True)
    operator.password = make_password("pw-for-tests", hasher="pbkdf2_sha256")
    operator.save(update_fields=["password"])
    config = WebhookConfigFactory.create(canvas=CanvasFactory.create(owner=operator))
    yesterday = timezone.now() - timedelta(days=1)
    for n in range(3):
        WebhookEventFactory.create(
            webhook_config=config, status="failed", error=f"mapping {n}", received_at=yesterday
        )
    WebhookEventFactory.create(webhook_config=config, status="completed")
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    # No ORM below this point until the server is gone (Playwright runs a loop here).
    env = child_env(RUN_JOBS_IN_WEB="false")  # replayed events stay pending to be seen
    with processes([uvicorn_command(port)], env, tmp_path / "logs"):
        wait_until_serving(port)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(f"{base}/admin/login/")
            page.fill("#id_username", "operator")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.goto(f"{base}/admin/webhooks/webhookevent/?status__exact=failed")
            expect(page.locator("#result_list tbody tr")).to_have_count(3)
            page.check("#action-toggle")
            page.select_option("select[name=action]", "replay")
            page.click("button[name=index]")

            expect(page.locator(".bulk-count")).to_contain_text("Replay 3 webhook event(s)?")
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "bulk-replay-confirm.png"), full_page=True)
            page.click("input[value='Yes, replay 3 event(s)']")

            expect(page.locator(".messagelist")).to_contain_text(
                "3 event(s) queued for processing again."
            )
            page.screenshot(path=str(SCREENSHOTS / "bulk-replay-done.png"), full_page=True)
            browser.close()

    assert WebhookEvent.objects.filter(status="pending").count() == 3
    assert WebhookEvent.objects.filter(status="completed").count() == 1
