"""`/flows/{id}/edit/`: a canvas owner who is not staff edits their canvas with the same
editor as the admin, and cannot open anyone else's."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.canvas.conftest import no_script_errors, screenshot
from tests.canvas.editing import canvas_point, connect, drop_from_palette, inspector, node, save
from tests.entities.live_servers import server_user
from tests.factories import FlowFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_an_owner_who_is_not_staff_edits_their_canvas_and_gets_404_for_anothers(
    page_for: Callable[..., Page], server: str, transactional_db: None
) -> None:
    owner = server_user("maria", is_staff=False)
    flow = FlowFactory.create(owner=owner, name="Maria's onboarding")  # a -> b, version 1
    theirs = FlowFactory.create(owner=UserFactory.create(), name="Someone else's")
    page = page_for(None)  # not signed in: the sign-in form comes first
    page.goto(f"{server}/flows/{flow.pk}/edit/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "maria")
    page.fill("#id_password", "pw-for-tests")
    with page.expect_navigation():
        page.click("input[type=submit]")
    assert page.url == f"{server}/flows/{flow.pk}/edit/"
    editor = page.locator("[data-canvas-editor]")
    expect(editor).to_have_attribute("data-ready", "true")
    expect(page.locator(".editor-canvas .node")).to_have_count(2)

    page.fill("#id_name", "Maria's onboarding, reviewed")
    editor.evaluate("el => el.scrollIntoView()")
    review = drop_from_palette(page, "UX", canvas_point(page, 0.5, 0.8))
    inspector(page).locator('[data-field="label"]').fill("Maria checks")
    connect(page, "b", review)
    expect(node(page, review)).to_be_visible()
    screenshot(page, "edit-page-owner")
    save(page)
    expect(page.locator(".messages")).to_contain_text("version 2")
    flow.refresh_from_db()
    assert flow.name == "Maria's onboarding, reviewed"
    assert flow.current_version is not None and flow.current_version.number == 2
    assert {n["id"]: n["type"] for n in flow.graph["nodes"]}[review] == "UX"
    assert ("b", review) in {(e["source"], e["target"]) for e in flow.graph["edges"]}
    expect(page.locator('.flow-versions li[data-version="2"] .diff-nodes-added')).to_have_text(
        f"nodes added: {review}"
    )
    no_script_errors(page)

    for url in (f"/flows/{theirs.pk}/edit/", f"/flows/{theirs.pk}/live/"):
        response = page.goto(server + url)
        assert response is not None and response.status == 404, url
    page.goto(f"{server}/admin/flows/flow/{flow.pk}/change/")
    assert page.url.startswith(f"{server}/admin/login/")  # not staff: no admin
