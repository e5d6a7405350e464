"""Values PostgreSQL cannot store (NUL, lone surrogates, 1e400) in what a client or a
worker sends: a 400 naming the field, or the node failed with a clear error; never a
500, never a node left `running` (SPEC 5)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from flows.workers import WorkerOutcome, register_worker
from tests.engine.conftest import detail, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)

RAW_BODIES = {
    "NUL": b'{"status": "completed", "output": {"note": "a\\u0000b"}}',
    "lone surrogate": b'{"status": "completed", "output": ["\\ud800"]}',
    "out of range": b'{"status": "completed", "output": {"n": 1e400}}',
}


def post_raw(callback_url: str, raw: bytes):
    url = urlsplit(callback_url)
    client: Any = APIClient()  # DRF's stubs type the body as str; bytes are sent as is
    return client.generic("POST", f"{url.path}?{url.query}", raw, content_type="application/json")


@pytest.fixture
def running(owner, owner_client, worker, run_jobs):
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    return run, worker.bodies("a")[0]["callback_url"]


@pytest.mark.parametrize("case", RAW_BODIES)
def test_a_callback_with_an_unstorable_output_is_400_naming_it(running, owner_client, case):
    run, url = running
    response = post_raw(url, RAW_BODIES[case])
    assert response.status_code == 400, response.content
    assert "output" in response.json()
    assert detail(owner_client, run["id"])["node_states"]["a"]["status"] == "running"
    assert post_raw(url, b'{"status": "completed", "output": 1}').json() == {"result": "applied"}


def test_a_callback_error_with_a_nul_is_400_naming_it(running):
    _run, url = running
    response = post_raw(url, b'{"status": "failed", "error": "bad\\u0000"}')
    assert response.status_code == 400
    assert "error" in response.json()


def test_run_input_with_a_nul_is_400_naming_it(owner, owner_client):
    flow = workflow(owner, [node("a", "UX")], [])
    response = owner_client.generic(
        "POST",
        f"/api/flows/{flow.id}/runs/",
        b'{"input": {"x": "\\u0000"}}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "input" in response.json()


def test_ux_output_with_a_lone_surrogate_is_400_naming_it(owner, owner_client):
    flow = workflow(owner, [node("a", "UX")], [])
    run = start(owner_client, flow)
    response = owner_client.generic(
        "POST",
        f"/api/runs/{run['id']}/nodes/a/complete/",
        b'{"output": "\\udfff"}',
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "output" in response.json()


@pytest.mark.parametrize("case", RAW_BODIES)
def test_a_synchronous_reply_with_an_unstorable_output_fails_the_node(
    owner, owner_client, worker, run_jobs, case
):
    worker.always("a", 200, RAW_BODIES[case])
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    final = detail(owner_client, run["id"])
    assert final["status"] == "failed"
    error = final["node_states"]["a"]["error"]
    assert "worker reply cannot be used" in error
    assert "reply.output" in error


def test_an_error_answer_whose_body_holds_a_nul_fails_the_node_with_an_excerpt(
    owner, owner_client, worker, run_jobs
):
    worker.always("a", 422, b'{"why": "bad \\u0000 input"}')
    worker.always("b", 422, b"bad \x00 raw")
    flow = workflow(owner, [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    states = detail(owner_client, run["id"])["node_states"]
    assert states["a"]["status"] == states["b"]["status"] == "failed"
    assert "422" in states["b"]["error"]
    assert "\\u0000" in states["b"]["error"]


def test_the_http_worker_failing_on_unstorable_json(owner, owner_client, worker, run_jobs):
    worker.always("", 200, RAW_BODIES["NUL"])
    flow = workflow(owner, [node("h", workerType="http", url=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    state = detail(owner_client, run["id"])["node_states"]["h"]
    assert state["status"] == "failed"
    assert "cannot be stored" in state["error"]


@register_worker("test-not-json")
async def _not_json(call):
    return WorkerOutcome("completed", output={"when": float("nan"), "what": {1, 2}})


@register_worker("test-bad-error")
async def _bad_error(call):
    return WorkerOutcome("failed", error="boom \x00 \ud800")


def test_a_built_in_worker_returning_what_cannot_be_stored_fails_its_node(
    owner, owner_client, run_jobs
):
    flow = workflow(
        owner, [node("n", workerType="test-not-json"), node("e", workerType="test-bad-error")], []
    )
    run = start(owner_client, flow)
    run_jobs()
    states = detail(owner_client, run["id"])["node_states"]
    assert states["n"]["status"] == "failed"
    assert "cannot be stored" in states["n"]["error"]
    assert states["e"]["status"] == "failed"
    assert states["e"]["error"].startswith("boom \\u0000 ")
