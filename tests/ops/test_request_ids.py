"""Request ids: accepted from X-Request-ID when safe, generated otherwise, returned, and
carried into the jobs a request defers (and the jobs those defer)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from procrastinate.contrib.django.models import ProcrastinateJob

from stitch import logs
from tests.factories import CanvasFactory, FlowFactory, WebhookConfigFactory
from tests.webhooks.conftest import body_of, generic_header
from webhooks.models import WebhookEvent


@pytest.mark.parametrize("given", ["abc-123", "4bf92f3577b34da6a3ce929d0e0e4736", "a.b:c/d+e=@_"])
def test_a_safe_request_id_is_kept_and_returned(given: str) -> None:
    assert Client().get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"] == given


@pytest.mark.parametrize("given", ["", "has space", 'quo"te', "x" * 129, "semi;colon", "é"])
def test_an_unsafe_request_id_is_replaced_by_a_fresh_one(given: str) -> None:
    returned = Client().get("/healthz", headers={"X-Request-ID": given})["X-Request-ID"]
    assert returned != given
    assert len(returned) == 32 and int(returned, 16) >= 0


def test_each_request_without_one_gets_its_own() -> None:
    ids = {Client().get("/healthz")["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3


@pytest.mark.django_db(transaction=True)
def test_the_request_id_travels_into_the_jobs_it_defers_and_theirs(
    owner: Any, run_jobs: Callable[..., None], settings: Any
) -> None:
    settings.WORKER_RETRY_BACKOFF_SECONDS = 60  # the dispatch's retry waits past run_jobs
    config = WebhookConfigFactory.create(
        canvas=CanvasFactory.create(owner=owner),
        workflow=FlowFactory.create(owner=owner),  # two Worker nodes on a dead URL
        secret="s3cret",
    )
    body = body_of({"id": "evt-1", "customer": {"name": "Ada", "email": "ada@example.com"}})
    headers = {"X-Request-ID": "trace-42", **generic_header("s3cret", body)}
    answer = Client().post(
        f"/api/webhooks/{config.endpoint_slug}/", body, "application/json", headers=headers
    )
    assert answer.status_code == 202
    [job] = ProcrastinateJob.objects.filter(task_name="webhooks.process_event")
    assert job.args == {"event_id": answer.json()["event_id"], "_request_id": "trace-42"}

    # Processing, then its dispatch (the dead worker URL makes it wait for a retry).
    run_jobs(horizon=5)

    event = WebhookEvent.objects.get()
    assert event.status == "completed", event.error  # the task never saw _request_id
    dispatch = ProcrastinateJob.objects.get(task_name="engine.dispatch_node")
    assert dispatch.args["_request_id"] == "trace-42"
    assert dispatch.args["run_id"] == str(event.workflow_run_id)
    # It ran and is waiting to be retried (a TypeError would have failed it for good);
    # the retry reads the row again, _request_id included.
    assert (dispatch.status, dispatch.attempts) == ("todo", 1)


def test_json_lines_carry_bound_ids_and_extras(capsys: pytest.CaptureFixture[str]) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("tests.ops.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with logs.bound_ids(request_id="r-1", run_id="run-9", entity_id=None):
            logger.warning("node %s timed out", "a", extra={"node_id": "a"})
        logger.warning("outside")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in capsys.readouterr().err.splitlines())
    assert first == first | {
        "message": "node a timed out",
        "level": "warning",
        "logger": "tests.ops.json",
        "request_id": "r-1",
        "run_id": "run-9",
        "node_id": "a",
    }
    assert "entity_id" not in first and "timestamp" in first
    assert "request_id" not in second
