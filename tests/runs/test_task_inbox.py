"""The task inbox (`/tasks/`, and the admin's) and completing a UX node from it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from flows.models import Run, RunNode
from tests.engine.conftest import edge
from tests.factories import EntityFactory
from tests.runs.conftest import (
    REVIEW_FIELDS,
    review_flow,
    start,
    step,
    ux_only_flow,
    workflow,
)

pytestmark = pytest.mark.django_db


def waited(run: Run, node_id: str, minutes: int) -> None:
    RunNode.objects.filter(run=run, node_id=node_id).update(
        started_at=timezone.now() - timedelta(minutes=minutes)
    )


def listed(page: str) -> list[tuple[str, str]]:
    return re.findall(r'<tr class="task" data-run-id="([^"]+)" data-node-id="([^"]+)">', page)


def test_it_lists_the_users_waiting_steps_oldest_first(owner, other, owner_web) -> None:
    entity = EntityFactory.create(canvas__owner=owner, name="Ada Lovelace")
    recent = start(review_flow(owner), entity=entity)
    old = start(ux_only_flow(owner))
    waited(old, "review", 90)
    waited(recent, "review", 5)
    start(ux_only_flow(other))  # someone else's task
    done = start(ux_only_flow(owner))
    from flows import engine

    engine.ux_complete(run=done, node_id="review", output={})

    page = owner_web.get("/tasks/").content.decode()
    assert listed(page) == [(str(old.pk), "review"), (str(recent.pk), "review")]
    assert "2 tasks waiting" in page
    assert "Ada Lovelace" in page
    assert recent.flow.name in page
    assert "1\xa0hour, 30\xa0minutes" in page  # how long it has waited


def ux_split(owner):
    return workflow(
        owner,
        [
            step("s", "Splitter", 0, arrayPath="$.people"),
            step("ask", "UX", 260, label="Ask"),
            step("c", "Collector", 520),
        ],
        [edge("s", "ask"), edge("ask", "c")],
    )


def test_each_waiting_instance_of_a_split_ux_step_is_a_task(owner, owner_web) -> None:
    run = start(ux_split(owner), {"people": ["a", "b"]})
    page = owner_web.get("/tasks/").content.decode()
    assert listed(page) == [(str(run.pk), "ask_0"), (str(run.pk), "ask_1")]
    assert "Ask #1" in page
    # Whatever summary the engine writes on the template row, its instances are the tasks.
    RunNode.objects.filter(run=run, node_id="ask").update(status="waiting_for_user")
    assert len(listed(owner_web.get("/tasks/").content.decode())) == 2


def test_the_list_fragment_and_the_admin_inbox_show_the_same_tasks(
    owner, owner_web, staff, staff_web
) -> None:
    mine = start(ux_only_flow(staff))
    start(ux_only_flow(owner))
    fragment = owner_web.get("/tasks/list/").content.decode()
    assert "<html" not in fragment and len(listed(fragment)) == 1
    admin_page = staff_web.get("/admin/flows/run/tasks/").content.decode()
    assert listed(admin_page) == [(str(mine.pk), "review")]
    assert f"/admin/flows/run/{mine.pk}/complete/?node=review" in admin_page


def test_anonymous_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get("/tasks/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_completing_through_a_fields_form_stores_typed_values(owner, owner_web) -> None:
    run = start(ux_only_flow(owner, REVIEW_FIELDS))
    form = owner_web.get(f"/runs/{run.pk}/complete/", {"node": "review", "next": "/tasks/"})
    assert form.status_code == 200
    html = form.content.decode()
    for name in ("approved", "amount", "note", "plan", "due"):
        assert f'name="output-{name}"' in html
    response = owner_web.post(
        f"/runs/{run.pk}/complete/",
        {
            "node_id": "review",
            "next": "/tasks/",
            "output-approved": "on",
            "output-amount": "12.5",
            "output-note": "ok",
            "output-plan": "pro",
            "output-due": "2026-03-02",
        },
    )
    assert response.status_code == 302 and response["Location"] == "/tasks/"
    node = RunNode.objects.get(run=run, node_id="review")
    assert node.status == "completed"
    assert node.output == {
        "approved": True,
        "amount": 12.5,
        "note": "ok",
        "plan": "pro",
        "due": "2026-03-02",
    }
    assert Run.objects.get(pk=run.pk).status == "completed"
    page = owner_web.get("/tasks/").content.decode()
    assert "review completed; the run is now completed." in page


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({}, "amount", "This field is required."),
        ({"output-amount": "lots"}, "amount", "Enter a number."),
        ({"output-amount": "inf"}, "amount", "Enter a number."),
        ({"output-amount": "1", "output-plan": "gold"}, "plan", "Select a valid choice."),
        ({"output-amount": "1", "output-due": "yesterday"}, "due", "Enter a valid date."),
        (
            {"output-amount": "1", "output-note": "a\x00b"},
            "note",
            "Null characters are not allowed.",
        ),
    ],
)
def test_an_invalid_form_is_400_with_the_error_on_its_field(
    owner, owner_web, values, field, message
) -> None:
    run = start(ux_only_flow(owner, REVIEW_FIELDS))
    response = owner_web.post(f"/runs/{run.pk}/complete/", {"node_id": "review", **values})
    assert response.status_code == 400
    html = response.content.decode()
    row = re.search(
        rf'<div class="form-row has-errors" data-field="{field}">(.*?)</div>', html, re.S
    )
    assert row, html
    assert message in row.group(1)
    assert RunNode.objects.get(run=run, node_id="review").status == "waiting_for_user"


def test_without_fields_the_output_is_json_read_by_the_json_reader(owner, owner_web) -> None:
    run = start(ux_only_flow(owner), {"ticket": 7})
    form = owner_web.get(f"/runs/{run.pk}/complete/", {"node": "review"}).content.decode()
    assert "&quot;ticket&quot;: 7" in form  # prefilled with what the step received
    url = f"/runs/{run.pk}/complete/"
    bad = owner_web.post(url, {"node_id": "review", "output": "{not json"})
    assert bad.status_code == 400
    assert "output: not valid JSON" in bad.content.decode()
    nul = owner_web.post(url, {"node_id": "review", "output": '{"a": "\\u0000"}'})
    assert nul.status_code == 400
    assert "output.a: must not contain the NUL character" in nul.content.decode()
    assert RunNode.objects.get(run=run, node_id="review").status == "waiting_for_user"
    ok = owner_web.post(url, {"node_id": "review", "output": '{"resolved": true}'})
    assert ok.status_code == 302
    assert RunNode.objects.get(run=run, node_id="review").output == {"resolved": True}


def test_a_step_that_no_longer_waits_is_not_completed_again(owner, owner_web) -> None:
    run = start(ux_only_flow(owner))
    url = f"/runs/{run.pk}/complete/"
    owner_web.post(url, {"node_id": "review", "output": "1"})
    page = owner_web.get(url, {"node": "review"}).content.decode()
    assert "This step is completed: nothing to complete." in page
    again = owner_web.post(url, {"node_id": "review", "output": "2"}, follow=True)
    assert "Not completed: node &#x27;review&#x27; is completed" in again.content.decode()
    assert RunNode.objects.get(run=run, node_id="review").output == 1


def test_completing_another_users_step_is_404(owner, other_web) -> None:
    run = start(ux_only_flow(owner))
    url = f"/runs/{run.pk}/complete/"
    assert other_web.get(url, {"node": "review"}).status_code == 404
    assert other_web.post(url, {"node_id": "review", "output": "1"}).status_code == 404
    assert RunNode.objects.get(run=run, node_id="review").status == "waiting_for_user"


def test_the_run_view_panel_offers_the_same_form(owner, owner_web) -> None:
    run = start(ux_only_flow(owner, REVIEW_FIELDS))
    panel = owner_web.get(f"/runs/{run.pk}/node/", {"id": "review"}).content.decode()
    assert 'name="output-amount"' in panel
    assert f'action="/runs/{run.pk}/complete/"' in panel
