"""Starting a run from the admin (the Run "add" page) through engine.run_start."""

from __future__ import annotations

import re

import pytest

from flows.models import Run
from tests.factories import CanvasFactory, EntityFactory
from tests.runs.conftest import review_flow, ux_only_flow

pytestmark = pytest.mark.django_db
ADD = "/admin/flows/run/add/"


def errors_of(page: str, field: str) -> str:
    match = re.search(rf'<div class="form-row errors field-{field}">(.*?)</div>', page, re.S)
    assert match, page
    return match.group(1)


def test_the_run_list_offers_to_start_a_run_and_the_inbox(staff_web) -> None:
    page = staff_web.get("/admin/flows/run/").content.decode()
    assert f'href="{ADD}"' in page and "Start a run" in page
    assert 'href="/admin/flows/run/tasks/"' in page


def test_it_starts_a_run_and_lands_on_its_run_view(owner, staff_web) -> None:
    flow = review_flow(owner)
    CanvasFactory.create(owner=owner, name="Not a workflow")
    entity = EntityFactory.create(canvas__owner=owner)
    form = staff_web.get(ADD).content.decode()
    assert flow.name in form and "Not a workflow" not in form
    response = staff_web.post(
        ADD,
        {"workflow": flow.pk, "input": '{"customer": {"name": "Ada"}}', "entity": entity.pk},
    )
    run = Run.objects.get(flow=flow)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/flows/run/{run.pk}/change/"
    assert run.input == {"customer": {"name": "Ada"}}
    assert run.entity == entity
    assert run.trigger["source"] == "admin"
    assert run.status == "waiting"  # its UX step waits
    page = staff_web.get(response["Location"]).content.decode()
    assert 'id="run-view"' in page and "Run started on" in page


def test_an_empty_input_is_an_empty_object(owner, staff_web) -> None:
    flow = ux_only_flow(owner)
    staff_web.post(ADD, {"workflow": flow.pk, "input": ""})
    assert Run.objects.get(flow=flow).input == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{nope", "input: not valid JSON"),
        ('{"a": "\\u0000"}', "input.a: must not contain the NUL character"),
        ('{"n": 1e999}', "input.n: number 1e999 is out of range"),
    ],
)
def test_bad_input_json_is_400_naming_input(owner, staff_web, text, message) -> None:
    flow = ux_only_flow(owner)
    response = staff_web.post(ADD, {"workflow": flow.pk, "input": text})
    assert response.status_code == 400
    assert message in errors_of(response.content.decode(), "input")
    assert not Run.objects.filter(flow=flow).exists()


def test_an_entity_of_another_owner_is_refused(owner, other, staff_web) -> None:
    flow = ux_only_flow(owner)
    stranger = EntityFactory.create(canvas__owner=other)
    response = staff_web.post(ADD, {"workflow": flow.pk, "input": "{}", "entity": stranger.pk})
    assert response.status_code == 400
    assert "belongs to another owner" in errors_of(response.content.decode(), "entity")
    assert not Run.objects.filter(flow=flow).exists()


def test_a_missing_or_unknown_workflow_is_refused(staff_web) -> None:
    response = staff_web.post(ADD, {"input": "{}"})
    assert response.status_code == 400
    assert "This field is required." in errors_of(response.content.decode(), "workflow")
    canvas = CanvasFactory.create()
    response = staff_web.post(ADD, {"workflow": canvas.pk, "input": "{}"})
    assert "Select a valid choice" in errors_of(response.content.decode(), "workflow")
    assert not Run.objects.exists()


def test_the_workflow_can_be_chosen_by_link(owner, staff_web) -> None:
    flow = ux_only_flow(owner)
    page = staff_web.get(ADD, {"workflow": flow.pk}).content.decode()
    assert re.search(rf'<option value="{flow.pk}" selected>', page)


def test_staff_without_the_add_permission_cannot_start_runs(owner, client) -> None:
    from django.contrib.auth.models import Permission

    from tests.factories import UserFactory

    viewer = UserFactory.create(username="viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_run"))
    client.force_login(viewer)
    flow = ux_only_flow(owner)
    assert client.post(ADD, {"workflow": flow.pk, "input": "{}"}).status_code == 403
    assert not Run.objects.exists()


def test_the_entity_is_found_by_searching(owner, staff_web) -> None:
    ada = EntityFactory.create(canvas__owner=owner, name="Ada Lovelace")
    EntityFactory.create(canvas__owner=owner, name="Alan Turing")
    query = {"app_label": "flows", "model_name": "run", "field_name": "entity", "term": "lovelace"}
    found = staff_web.get("/admin/autocomplete/", query).json()["results"]
    assert [hit["id"] for hit in found] == [str(ada.pk)]
