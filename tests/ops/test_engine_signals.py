"""What the engine reports: dispatches by outcome with latency, callbacks by result,
nodes timed out; each trouble as one JSON line carrying its run and node."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from flows import engine
from tests.engine.conftest import callback, node, start, workflow
from tests.engine.worker_server import WorkerServer
from tests.ops.conftest import Samples

pytestmark = pytest.mark.django_db(transaction=True)
Lines = Callable[[], list[dict[str, Any]]]


@pytest.fixture
def worker(settings: Any) -> Iterator[WorkerServer]:
    """A real HTTP worker on 127.0.0.1 (tests/engine's), with quick retries."""
    settings.WORKER_RETRY_BACKOFF_SECONDS = 0.05
    server = WorkerServer().start()
    yield server
    server.stop()


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


def test_a_dispatch_retried_then_given_up_is_counted_and_told(
    owner: Any, owner_client: APIClient, worker: Any, run_jobs: Any, scrape: Any, ops_lines: Lines
) -> None:
    worker.always("a", 503, {"busy": True})
    flow = workflow(owner, [node("a", webhookUrl=worker.url, retries=1)], [])
    before = scrape()

    run = start(owner_client, flow)
    run_jobs()

    after = scrape()
    assert delta(before, after, "stitch_dispatches_total", outcome="retried") == 1
    assert delta(before, after, "stitch_dispatches_total", outcome="gave_up") == 1
    assert delta(before, after, "stitch_dispatch_duration_seconds_count", outcome="gave_up") == 1
    retried, gave_up = ops_lines()
    for line in (retried, gave_up):
        assert line == line | {"run_id": run["id"], "node_id": "a", "task": "engine.dispatch_node"}
        assert "503" in line["error"]
    assert (retried["message"], retried["attempt"]) == ("dispatch retried", 1)
    assert (gave_up["message"], gave_up["attempts"]) == ("dispatch given up", 2)


def test_a_dispatch_answered_at_once_is_counted_by_its_result(
    owner: Any, owner_client: APIClient, worker: Any, run_jobs: Any, scrape: Any, ops_lines: Lines
) -> None:
    worker.always("a", 200, {"status": "completed", "output": {"ok": True}})
    worker.always("b", 202, {"queued": True})
    flow = workflow(owner, [node("a", webhookUrl=worker.url), node("b", webhookUrl=worker.url)], [])
    before = scrape()

    start(owner_client, flow)
    run_jobs()

    after = scrape()
    assert delta(before, after, "stitch_dispatches_total", outcome="completed") == 1
    assert delta(before, after, "stitch_dispatches_total", outcome="accepted") == 1
    assert ops_lines() == []  # healthy work writes no line


def test_callbacks_are_counted_by_result(
    owner: Any, owner_client: APIClient, worker: Any, run_jobs: Any, scrape: Any
) -> None:
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    start(owner_client, flow)
    run_jobs()
    url = urlsplit(worker.bodies("a")[0]["callback_url"])
    before = scrape()

    callback(worker, "a", status="completed", output={"v": 1})
    callback(worker, "a", status="completed", output={"v": 1})
    callback(worker, "a", status="completed", output={"v": 2})
    APIClient().post(f"{url.path}?token={'0' * 64}", {"status": "completed"}, format="json")
    APIClient().post(f"{url.path}?{url.query}", {"status": "done"}, format="json")
    unknown = url.path.replace("/nodes/a/", "/nodes/zzz/")
    APIClient().post(f"{unknown}?{url.query}", {"status": "completed"}, format="json")

    after = scrape()
    results = {"applied": 1, "unchanged": 1, "conflict": 1, "forbidden": 1, "invalid": 1}
    for result, count in (results | {"not_found": 1}).items():
        assert delta(before, after, "stitch_callbacks_total", result=result) == count, result


def test_a_node_timed_out_is_counted_and_told(
    owner: Any, owner_client: APIClient, worker: Any, run_jobs: Any, scrape: Any, ops_lines: Lines
) -> None:
    flow = workflow(owner, [node("a", webhookUrl=worker.url, callbackTimeoutSeconds=5)], [])
    run = start(owner_client, flow)
    run_jobs()
    before = scrape()

    assert engine.callbacks_expire(now=timezone.now() + timedelta(seconds=10)) == 1

    assert delta(before, scrape(), "stitch_node_callback_timeouts_total") == 1
    [line] = ops_lines()
    assert line == line | {"message": "node timed out", "run_id": run["id"], "node_id": "a"}
