"""Results found by a dispatch job (synchronous reply, built-in worker, last error)."""

from __future__ import annotations

import pytest

from flows import engine
from flows.models import NodeStatus, RunNode
from flows.workers import WorkerOutcome
from tests.engine.conftest import node, start, workflow

pytestmark = pytest.mark.django_db


def test_the_result_of_an_earlier_attempt_is_not_applied_to_a_retried_node(owner, owner_client):
    flow = workflow(owner, [node("a", webhookUrl="http://127.0.0.1:9/w")], [])
    run = start(owner_client, flow)
    engine.callback_apply(run_id=run["id"], node_id="a", status="failed", error="boom")
    assert owner_client.post(f"/api/runs/{run['id']}/nodes/a/retry/").status_code == 200

    late = WorkerOutcome("completed", output={"from": "attempt 1"})
    result = engine.worker_outcome_apply(run_id=run["id"], node_id="a", attempt=1, outcome=late)

    row = RunNode.objects.get(run_id=run["id"], node_id="a")
    assert (result, row.status, row.attempts, row.output) == ("stale", NodeStatus.RUNNING, 2, None)
    current = WorkerOutcome("completed", output={"from": "attempt 2"})
    assert (
        engine.worker_outcome_apply(run_id=run["id"], node_id="a", attempt=2, outcome=current)
        == "applied"
    )
