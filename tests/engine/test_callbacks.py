from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from flows.models import RunNode
from tests.engine.conftest import callback, detail, edge, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def dispatched(owner, owner_client, worker, run_jobs):
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)],
        [edge("a", "b")],
    )
    run = start(owner_client, flow)
    run_jobs()
    url = urlsplit(worker.bodies("a")[0]["callback_url"])
    return run, url


def post(path: str, body, query: str = ""):
    return APIClient().post(f"{path}?{query}", body, format="json")


def test_a_wrong_token_is_403(dispatched):
    _run, url = dispatched
    assert post(url.path, {"status": "completed"}, "token=" + "0" * 64).status_code == 403
    assert post(url.path, {"status": "completed"}).status_code == 403


def test_an_unknown_run_or_node_is_404(dispatched):
    run, url = dispatched
    other_node = url.path.replace("/nodes/a/", "/nodes/zzz/")
    assert post(other_node, {"status": "completed"}, url.query).status_code == 404
    other_run = url.path.replace(run["id"], "00000000-0000-0000-0000-000000000000")
    assert post(other_run, {"status": "completed"}, url.query).status_code == 404


def test_a_malformed_body_is_400_naming_the_field(dispatched):
    _run, url = dispatched
    response = post(url.path, {"status": "done"}, url.query)
    assert response.status_code == 400
    assert "status" in response.json()
    response = post(url.path, ["completed"], url.query)
    assert response.status_code == 400
    assert "body" in response.json()


def test_a_repeat_is_200_unchanged_and_a_contradiction_409(dispatched, owner_client, worker):
    run, _url = dispatched
    first = callback(worker, "a", status="completed", output={"v": 1})
    assert first.json() == {"result": "applied"}
    repeat = callback(worker, "a", status="completed", output={"v": 1})
    assert (repeat.status_code, repeat.json()) == (200, {"result": "unchanged"})
    assert callback(worker, "a", status="completed", output={"v": 2}).status_code == 409
    assert callback(worker, "a", status="failed", error="x").status_code == 409
    assert detail(owner_client, run["id"])["node_states"]["a"]["output"] == {"v": 1}


def test_a_failed_callback_fails_the_node_and_the_run(dispatched, owner_client, worker):
    run, _ = dispatched
    assert callback(worker, "a", status="failed", error="no luck").status_code == 200
    final = detail(owner_client, run["id"])
    assert final["status"] == "failed"
    assert final["node_states"]["a"]["error"] == "no luck"


def test_cancel_skips_pending_nodes_and_late_callbacks_are_recorded_not_applied(
    dispatched, owner_client, other_client, worker
):
    run, _ = dispatched
    assert other_client.post(f"/api/runs/{run['id']}/cancel/").status_code == 404
    response = owner_client.post(f"/api/runs/{run['id']}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["changed_nodes"]["b"]["status"] == "skipped"
    late = callback(worker, "a", status="completed", output={"late": True})
    assert (late.status_code, late.json()) == (200, {"result": "ignored"})
    final = detail(owner_client, run["id"])
    assert final["status"] == "cancelled"
    assert final["node_states"]["a"]["output"] is None
    [record] = RunNode.objects.get(run_id=run["id"], node_id="a").late_callbacks
    assert record["output"] == {"late": True}
    assert owner_client.post(f"/api/runs/{run['id']}/cancel/").status_code == 409


def test_a_node_without_callback_fails_after_its_timeout(owner, owner_client, worker, run_jobs):
    import time

    from flows import engine

    flow = workflow(owner, [node("a", webhookUrl=worker.url, callbackTimeoutSeconds=1)], [])
    run = start(owner_client, flow)
    run_jobs()
    assert engine.callbacks_expire() == 0
    time.sleep(1.1)
    assert engine.callbacks_expire() == 1
    final = detail(owner_client, run["id"])
    assert final["status"] == "failed"
    assert final["node_states"]["a"]["error"] == "callback timed out"
    assert callback(worker, "a", status="completed").status_code == 409
