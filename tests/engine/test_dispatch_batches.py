"""Dispatch jobs carry a batch of a split's nodes: sent concurrently, their synchronous
replies applied together, and each node's failure, error or timeout kept to itself."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django.models import ProcrastinateJob

from flows import engine, tasks
from tests.engine.conftest import detail, edge, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)

WIDTH = 10


def done(i: int) -> tuple[int, Any]:
    return 200, {"status": "completed", "output": {"i": i}}


def fan_out(owner: Any, worker: Any, **worker_data: Any) -> Any:
    return workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="items"),
            node("w", webhookUrl=worker.url, **worker_data),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )


def sync_replies(worker: Any, width: int = WIDTH) -> None:
    for i in range(width):
        worker.always(f"w_{i}", *done(i))


def dispatches(worker: Any) -> Counter[str]:
    return Counter(body["node_id"] for body in worker.bodies())


def test_a_split_is_dispatched_in_jobs_of_a_batch_of_nodes_each(
    owner, owner_client, worker, run_jobs, settings
):
    settings.DISPATCH_BATCH_SIZE = 4
    sync_replies(worker)
    run = start(owner_client, fan_out(owner, worker), input={"items": list(range(WIDTH))})
    jobs = ProcrastinateJob.objects.filter(task_name="engine.dispatch_node")
    assert sorted(len(job.args["nodes"]) for job in jobs) == [2, 4, 4]

    run_jobs()

    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["c"]["output"] == [{"i": i} for i in range(WIDTH)]
    assert final["node_states"]["c"]["attempts"] == 1
    assert dispatches(worker) == Counter(f"w_{i}" for i in range(WIDTH))


def test_a_retried_dispatch_in_a_batch_is_retried_alone(owner, owner_client, worker, run_jobs):
    sync_replies(worker)
    worker.script("w_2", (503, {"busy": True}), done(2))
    worker.script("w_6", (429, {"slow down": True}), done(6))
    worker.pause("w_8", 2.0)  # the first try times out; the second answers at once
    flow = fan_out(owner, worker, retries=2, timeoutSeconds=0.5)
    run = start(owner_client, flow, input={"items": list(range(WIDTH))})

    run_jobs()

    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    collector = final["node_states"]["c"]
    assert (collector["status"], collector["attempts"]) == ("completed", 1)
    assert collector["output"] == [{"i": i} for i in range(WIDTH)]
    retried = {"w_2", "w_6", "w_8"}
    assert dispatches(worker) == Counter(
        {f"w_{i}": 2 if f"w_{i}" in retried else 1 for i in range(WIDTH)}
    )
    # Each node's own attempt stays 1: a dispatch retry is not a node retry.
    assert {final["node_states"][f"w_{i}"]["attempts"] for i in range(WIDTH)} == {1}


def test_failures_in_a_batch_fail_their_own_nodes_only(owner, owner_client, worker, run_jobs):
    sync_replies(worker)
    worker.always("w_1", 400, {"bad": "input"})  # fails at once
    worker.always("w_4", 200, {"status": "completed", "output": "nul \u0000 here"})
    worker.always("w_7", 500, {"down": True})  # gives up after its retries
    worker.pause("w_9", 2.0, 2.0)  # times out on both tries
    flow = fan_out(owner, worker, retries=1, timeoutSeconds=0.5)
    run = start(owner_client, flow, input={"items": list(range(WIDTH))})

    run_jobs()

    final = detail(owner_client, run["id"])
    states = final["node_states"]
    assert final["status"] == "failed"
    failed = {"w_1", "w_4", "w_7", "w_9"}
    for i in range(WIDTH):
        expected = "failed" if f"w_{i}" in failed else "completed"
        assert states[f"w_{i}"]["status"] == expected, (i, states[f"w_{i}"])
    assert "HTTP 400" in states["w_1"]["error"]
    assert "NUL character" in states["w_4"]["error"]
    assert "HTTP 500" in states["w_7"]["error"] and "after 2 attempts" in states["w_7"]["error"]
    assert "timed out" in states["w_9"]["error"]
    collector = states["c"]
    assert (collector["status"], collector["attempts"]) == ("failed", 1)
    assert collector["error"] == "failed instances: w_1, w_4, w_7, w_9"
    counts = dispatches(worker)
    assert (counts["w_7"], counts["w_9"], counts["w_1"], counts["w_0"]) == (2, 2, 1, 1)


def test_a_retry_leaves_only_its_nodes_in_the_job(owner, owner_client, worker, run_jobs, settings):
    settings.WORKER_RETRY_BACKOFF_SECONDS = 60  # the retry waits past run_jobs
    sync_replies(worker)
    worker.always("w_3", 503, {"busy": True})
    run = start(owner_client, fan_out(owner, worker), input={"items": list(range(WIDTH))})

    run_jobs(horizon=1)

    [job] = ProcrastinateJob.objects.filter(task_name="engine.dispatch_node")
    assert (job.status, job.attempts, job.args["nodes"]) == ("todo", 1, [["w_3", 1]])
    states = detail(owner_client, run["id"])["node_states"]
    assert states["w_3"]["status"] == "running"
    assert sum(states[f"w_{i}"]["status"] == "completed" for i in range(WIDTH)) == WIDTH - 1
    assert states["c"]["status"] == "pending"


def test_results_that_cannot_be_applied_together_are_applied_one_by_one(
    owner, owner_client, worker, run_jobs, monkeypatch
):
    applied_alone = tasks.engine.worker_outcome_apply

    def refuse_batches(**kwargs: Any) -> Any:
        raise RuntimeError("the batch cannot be written")

    monkeypatch.setattr(tasks.engine, "worker_outcomes_apply", refuse_batches)
    monkeypatch.setattr(tasks.engine, "worker_outcome_apply", applied_alone)
    sync_replies(worker)
    run = start(owner_client, fan_out(owner, worker), input={"items": list(range(WIDTH))})

    run_jobs()

    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["c"]["output"] == [{"i": i} for i in range(WIDTH)]


def test_a_batch_left_by_a_killed_worker_sends_again_only_what_was_not_settled(
    owner, owner_client, worker, run_jobs
):
    """kill -9 after the batch's results committed but before its job was finished: the
    stalled-job sweep puts the job back, and its rerun skips the settled nodes."""
    sync_replies(worker)
    run = start(owner_client, fan_out(owner, worker), input={"items": list(range(WIDTH))})
    for i in range(4):  # what the dead worker's transaction had applied
        engine.callback_apply(
            run_id=run["id"], node_id=f"w_{i}", status="completed", output={"i": i}, attempt=1
        )
    with connection.cursor() as cursor:  # what a pruned dead worker leaves
        cursor.execute("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL")

    async def sweep() -> None:
        try:
            await tasks.retry_stalled_jobs(timestamp=0)
        finally:  # the connection left in asgiref's thread
            await sync_to_async(connections.close_all, thread_sensitive=True)()

    asyncio.run(sweep())
    run_jobs()

    final = detail(owner_client, run["id"])
    assert final["status"] == "completed"
    assert final["node_states"]["c"]["attempts"] == 1
    assert final["node_states"]["c"]["output"] == [{"i": i} for i in range(WIDTH)]
    assert dispatches(worker) == Counter(f"w_{i}" for i in range(4, WIDTH))
