"""Built-in workers honour the node's time settings (SPEC 5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from flows import engine
from tests.engine.conftest import detail, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_http_worker_waits_as_long_as_timeout_seconds_allows(
    owner, owner_client, worker, run_jobs
):
    # httpx's default timeout is 5 s: a worker taking longer must still be waited for.
    worker.delay = 5.5
    worker.always("", 200, {"slow": True})
    flow = workflow(
        owner, [node("h", workerType="http", url=worker.url, timeoutSeconds=20, retries=0)], []
    )
    run = start(owner_client, flow, input={"x": 1})
    run_jobs(horizon=30)
    final = detail(owner_client, run["id"])
    assert final["node_states"]["h"]["error"] is None
    assert final["node_states"]["h"]["output"] == {"slow": True}
    assert final["status"] == "completed"


def test_the_http_worker_gives_up_after_timeout_seconds(owner, owner_client, worker, run_jobs):
    worker.delay = 2
    flow = workflow(
        owner, [node("h", workerType="http", url=worker.url, timeoutSeconds=0.5, retries=0)], []
    )
    run = start(owner_client, flow)
    run_jobs()
    state = detail(owner_client, run["id"])["node_states"]["h"]
    assert state["status"] == "failed"
    assert "timed out after 0.5s" in state["error"]


def test_a_delay_longer_than_the_callback_timeout_completes(owner, owner_client, run_jobs):
    flow = workflow(owner, [node("d", workerType="delay", seconds=2, callbackTimeoutSeconds=1)], [])
    run = start(owner_client, flow, input={"kept": True})
    run_jobs(horizon=0)  # the dispatch: schedules the completion 2 s ahead
    later = timezone.now() + timedelta(seconds=1.5)
    assert engine.callbacks_expire(now=later) == 0  # past callbackTimeoutSeconds
    run_jobs(horizon=10)
    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["d"]["output"] == {"kept": True}


def test_a_delay_whose_completion_never_comes_still_times_out(owner, owner_client, run_jobs):
    flow = workflow(owner, [node("d", workerType="delay", seconds=2, callbackTimeoutSeconds=1)], [])
    run = start(owner_client, flow)
    run_jobs(horizon=0)
    # Completion job lost (say, its worker process died and the job was deleted).
    assert engine.callbacks_expire(now=timezone.now() + timedelta(seconds=3.5)) == 1
    assert detail(owner_client, run["id"])["node_states"]["d"]["error"] == "callback timed out"
