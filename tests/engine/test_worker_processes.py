"""Several `manage.py procrastinate worker` processes share one queue: a fan-out run
completes with every instance dispatched exactly once."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import connection

from flows import engine
from flows.models import Run, RunStatus
from tests.engine.conftest import edge, node, workflow
from tests.engine.worker_server import WorkerServer
from tests.entities.live_servers import ROOT, child_env, processes
from tests.jobrunner import jobs_clear, worker_sessions_end

WIDTH = 120
WORKERS = 3


def _live_workers() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM procrastinate_workers")
        return int(cursor.fetchone()[0])


def _wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_three_worker_processes_run_a_fan_out_without_running_a_job_twice(
    owner, worker: WorkerServer, tmp_path: Path
) -> None:
    # Synchronous worker replies: each dispatch job completes its instance itself.
    worker.replies["w"] = (200, {"status": "completed", "output": {"ok": True}})
    flow = workflow(
        owner,
        [
            node("s", "Splitter", arrayPath="items"),
            node("w", webhookUrl=worker.url),
            node("c", "Collector"),
        ],
        [edge("s", "w"), edge("w", "c")],
    )
    jobs_clear()
    command = [str(ROOT / ".venv/bin/python"), "manage.py", "procrastinate", "worker"]
    try:
        with processes([command] * WORKERS, child_env(), tmp_path / "logs"):
            _wait_for(lambda: _live_workers() == WORKERS, 60, "three live workers")
            run = engine.run_start(flow=flow, input={"items": list(range(WIDTH))})
            _wait_for(
                lambda: Run.objects.get(pk=run.pk).status == RunStatus.COMPLETED,
                90,
                "the run to complete",
            )
            assert _live_workers() == WORKERS  # all three stayed up, sharing the queue
    finally:
        jobs_clear()
        worker_sessions_end()

    dispatched = Counter(r["body"]["node_id"] for r in worker.requests)
    assert dispatched == Counter({f"w_{i}": 1 for i in range(WIDTH)})
    collector = engine.node_states(Run.objects.get(pk=run.pk))["c"]
    assert collector["status"] == "completed"
    assert collector["output"] == [{"ok": True}] * WIDTH
