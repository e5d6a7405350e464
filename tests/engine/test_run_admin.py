from __future__ import annotations

import pytest
from django.test import Client

from flows.models import Run, RunNode
from tests.engine.conftest import callback, detail, edge, node, start, workflow
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def staff_client() -> Client:
    admin_user = UserFactory.create(username="ops", is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_run_page_shows_node_states_as_a_table(
    owner, owner_client, worker, staff_client, run_jobs
):
    worker.always("a", 400, {"why": "bad"})
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    page = staff_client.get(f"/admin/flows/run/{run['id']}/change/").content.decode()
    assert "<table><thead><tr><th>node</th>" in page
    assert "<td><code>a</code></td><td>failed</td><td>1</td>" in page
    assert "400" in page


def test_admin_actions_retry_and_cancel_through_the_services(
    owner, owner_client, worker, staff_client, run_jobs
):
    worker.script("a", (400, {}), (200, {"accepted": True}))
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    changelist = "/admin/flows/run/"
    retry = {"action": "retry_failed_nodes", "_selected_action": [run["id"]], "post": "yes"}
    staff_client.post(changelist, retry)  # "post": the answer to its confirmation page
    assert detail(owner_client, run["id"])["node_states"]["a"]["attempts"] == 2
    staff_client.post(changelist, {"action": "cancel_runs", "_selected_action": [run["id"]]})
    assert Run.objects.get(pk=run["id"]).status == "cancelled"


def test_the_run_page_lists_late_callbacks(owner, owner_client, worker, staff_client, run_jobs):
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    owner_client.post(f"/api/runs/{run['id']}/cancel/")
    callback(worker, "a", status="completed", output={"late": "yes"})
    page = staff_client.get(f"/admin/flows/run/{run['id']}/change/").content.decode()
    assert "Late callbacks:" in page
    assert "run_cancelled" in page
    assert "{&quot;late&quot;: &quot;yes&quot;}" in page


def test_run_nodes_are_listed_filtered_and_searched_in_the_admin(owner, owner_client, staff_client):
    flow = workflow(
        owner,
        [node("s", "Splitter", arrayPath="$.items"), node("ask", "UX"), node("c", "Collector")],
        [edge("s", "ask"), edge("ask", "c")],
    )
    run = start(owner_client, flow, input={"items": [1, 2]})
    listing = staff_client.get("/admin/flows/runnode/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert "ask_1" in page and "waiting_for_user" in page
    waiting = staff_client.get("/admin/flows/runnode/?status__exact=waiting_for_user").content
    assert b"ask_0" in waiting and b">c<" not in waiting
    found = staff_client.get(f"/admin/flows/runnode/?q={run['id']}").content.decode()
    assert "ask_0" in found
    row = RunNode.objects.get(run_id=run["id"], node_id="ask")
    detail_page = staff_client.get(f"/admin/flows/runnode/{row.pk}/change/")
    assert detail_page.status_code == 200
    # A template node shows its summary, not the row's bookkeeping status.
    assert "waiting_for_user" in detail_page.content.decode()
    assert staff_client.get("/admin/flows/runnode/add/").status_code == 403
