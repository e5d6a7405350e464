from __future__ import annotations

import hashlib
import hmac

import pytest
from django.conf import settings

from tests.engine.conftest import callback, detail, edge, node, start, states, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_linear_run_walks_the_graph_with_signed_dispatches(owner, owner_client, worker, run_jobs):
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)],
        [edge("a", "b")],
    )
    run = start(owner_client, flow, input={"name": "Ada"})
    assert run["status"] == "running"
    assert run["node_states"]["a"]["status"] == "running"
    assert run["node_states"]["b"]["status"] == "pending"

    run_jobs()
    [sent] = worker.requests
    assert set(sent["body"]) == {"run_id", "node_id", "input", "config", "callback_url"}
    assert sent["body"]["input"] == {"name": "Ada"}
    expected = hmac.new(settings.WORKER_SECRETS[0].encode(), sent["raw"], hashlib.sha256)
    assert sent["headers"]["X-Stitch-Signature"] == "sha256=" + expected.hexdigest()

    assert callback(worker, "a", status="completed", output={"greeting": "hi"}).status_code == 200
    run_jobs()
    assert worker.bodies("b")[0]["input"] == {"greeting": "hi"}
    assert callback(worker, "b", status="completed", output=[1, 2]).status_code == 200

    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["b"]["output"] == [1, 2]
    assert final["node_states"]["a"]["attempts"] == 1
    assert final["node_states"]["a"]["finished_at"] is not None


def test_a_synchronous_worker_completes_without_a_callback(owner, owner_client, worker, run_jobs):
    worker.always("a", 200, {"status": "completed", "output": {"done": True}})
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    assert states(owner_client, run["id"])["a"]["output"] == {"done": True}
    assert detail(owner_client, run["id"])["status"] == "completed"


def test_a_diamond_fires_the_join_once_with_merged_inputs(owner, owner_client, worker, run_jobs):
    for name, output in {"a": {"n": 1}, "b": {"left": 2}, "c": "right", "d": "end"}.items():
        worker.always(name, 200, {"status": "completed", "output": output})
    flow = workflow(
        owner,
        [node(n, webhookUrl=worker.url) for n in "abcd"],
        [edge("a", "b"), edge("a", "c"), edge("b", "d", mapping={"l": "$.left"}), edge("c", "d")],
    )
    run = start(owner_client, flow, input={})
    run_jobs()
    assert [b["input"] for b in worker.bodies("d")] == [{"l": 2, "c": "right"}]
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert {s["status"] for s in final["node_states"].values()} == {"completed"}


def test_a_worker_answering_500_then_200_is_retried(owner, owner_client, worker, run_jobs):
    worker.script("a", (500, {"oops": 1}), (200, {"status": "completed", "output": 7}))
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    assert len(worker.bodies("a")) == 2
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["a"]["output"] == 7


def test_a_worker_failing_every_retry_fails_the_node_with_the_last_error(
    owner, owner_client, worker, run_jobs
):
    worker.always("a", 503, {"busy": True})
    flow = workflow(owner, [node("a", webhookUrl=worker.url, retries=2)], [])
    run = start(owner_client, flow)
    run_jobs()
    assert len(worker.bodies("a")) == 3
    state = states(owner_client, run["id"])["a"]
    assert state["status"] == "failed"
    assert "503" in state["error"]


def test_a_worker_answering_400_fails_at_once(owner, owner_client, worker, run_jobs):
    worker.always("a", 400, {"reason": "bad input"})
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)],
        [edge("a", "b")],
    )
    run = start(owner_client, flow)
    run_jobs()
    assert len(worker.bodies("a")) == 1
    final = detail(owner_client, run["id"])
    assert final["status"] == "failed"
    assert "400" in final["node_states"]["a"]["error"]
    assert "bad input" in final["node_states"]["a"]["error"]
    assert final["node_states"]["b"]["status"] == "pending"


def test_an_unreachable_worker_is_retried_then_fails(owner, owner_client, run_jobs):
    flow = workflow(owner, [node("a", webhookUrl="http://127.0.0.1:9/none", retries=1)], [])
    run = start(owner_client, flow)
    run_jobs()
    state = states(owner_client, run["id"])["a"]
    assert state["status"] == "failed"
    assert "unreachable" in state["error"]
    assert "after 2 attempts" in state["error"]


def test_retry_refires_a_failed_node_with_the_same_input_and_descendants_proceed(
    owner, owner_client, worker, run_jobs
):
    worker.script("a", (422, {"no": 1}), (200, {"status": "completed", "output": {"ok": 1}}))
    worker.always("b", 200, {"status": "completed", "output": "b"})
    flow = workflow(
        owner,
        [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)],
        [edge("a", "b")],
    )
    run = start(owner_client, flow, input={"k": "v"})
    run_jobs()
    assert detail(owner_client, run["id"])["status"] == "failed"
    assert owner_client.post(f"/api/runs/{run['id']}/nodes/b/retry/").status_code == 409

    response = owner_client.post(f"/api/runs/{run['id']}/nodes/a/retry/")
    assert response.status_code == 200
    assert response.json()["status"] == "running"
    run_jobs()
    assert [b["input"] for b in worker.bodies("a")] == [{"k": "v"}, {"k": "v"}]
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["a"]["attempts"] == 2


def test_built_in_workers_run_in_the_task_worker(owner, owner_client, worker, run_jobs):
    worker.always("", 200, {"fetched": True})
    flow = workflow(
        owner,
        [
            node("e", workerType="echo"),
            node("w", workerType="delay", seconds=0.3),
            node("h", workerType="http", url=worker.url),
        ],
        [edge("e", "w"), edge("w", "h")],
    )
    run = start(owner_client, flow, input={"x": 1})
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["e"]["output"] == {"x": 1}
    assert final["node_states"]["w"]["output"] == {"x": 1}
    assert final["node_states"]["h"]["output"] == {"fetched": True}
    assert worker.requests[0]["body"] == {"x": 1}


def test_outbound_calls_to_private_addresses_can_be_refused(
    owner, owner_client, worker, run_jobs, settings
):
    settings.WORKER_ALLOW_PRIVATE_ADDRESSES = False
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    assert worker.requests == []
    assert "non-public" in states(owner_client, run["id"])["a"]["error"]


def test_the_dispatch_carries_the_request_id_of_the_request_that_started_the_run(
    owner, owner_client, worker, run_jobs
):
    # A worker's logs can then be joined with ours by the id the operator already has.
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    answer = owner_client.post(
        f"/api/flows/{flow.id}/runs/", {}, format="json", headers={"X-Request-ID": "trace-77"}
    )
    assert answer.status_code == 201, answer.content
    run_jobs()
    [sent] = worker.requests
    assert sent["headers"]["X-Request-ID"] == "trace-77"
