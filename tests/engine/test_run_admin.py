from __future__ import annotations

import pytest
from django.test import Client

from flows.models import Run
from tests.engine.conftest import detail, node, start, workflow
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
