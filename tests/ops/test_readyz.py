"""`/readyz`: database, a recent job-worker heartbeat, and a queue not backed up."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.ops.conftest import todo_job, worker_heartbeat

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def thresholds(settings: Any) -> Any:
    settings.READYZ_WORKER_MAX_SILENCE_SECONDS = 60
    settings.READYZ_MAX_DUE_JOBS = 3
    settings.READYZ_MAX_JOB_WAIT_SECONDS = 120
    return settings


def readyz() -> tuple[int, dict[str, Any]]:
    response = Client().get("/readyz")
    return response.status_code, response.json()


def test_it_is_ready_with_a_fresh_heartbeat_and_a_short_queue() -> None:
    worker_heartbeat(seconds_ago=5)
    todo_job("webhooks", waited=10)
    status, body = readyz()
    assert status == 200
    assert body["status"] == "ok"
    assert body["worker"] == body["worker"] | {"status": "ok", "workers": 1}
    assert 4 <= body["worker"]["last_heartbeat_seconds_ago"] < 60
    assert body["queue"] == body["queue"] | {"status": "ok", "due_jobs": 1}
    assert 9 <= body["queue"]["oldest_due_seconds"] < 60


def test_it_is_unavailable_when_no_worker_ever_beat() -> None:
    status, body = readyz()
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["database"] == "ok"
    assert body["worker"]["status"] == "silent"
    assert body["worker"]["last_heartbeat_seconds_ago"] is None


def test_it_is_unavailable_when_the_last_heartbeat_is_too_old() -> None:
    worker_heartbeat(seconds_ago=90)
    status, body = readyz()
    assert (status, body["worker"]["status"]) == (503, "silent")


def test_the_heartbeat_check_can_be_turned_off(thresholds: Any) -> None:
    thresholds.READYZ_WORKER_MAX_SILENCE_SECONDS = 0
    status, body = readyz()
    assert (status, body["worker"]["status"]) == (200, "unchecked")


def test_more_due_jobs_than_allowed_is_a_backlog() -> None:
    worker_heartbeat(seconds_ago=1)
    for queue in ("engine", "engine", "webhooks", "webhooks"):
        todo_job(queue)
    status, body = readyz()
    assert status == 503
    assert body["queue"] == body["queue"] | {"status": "backlogged", "due_jobs": 4}


def test_a_due_job_waiting_too_long_is_a_backlog() -> None:
    worker_heartbeat(seconds_ago=1)
    todo_job("engine", waited=300)
    status, body = readyz()
    assert (status, body["queue"]["status"]) == (503, "backlogged")
    assert body["queue"]["oldest_due_seconds"] >= 300


def test_a_retry_counts_from_when_it_became_due() -> None:
    worker_heartbeat(seconds_ago=1)
    todo_job("engine", waited=900, scheduled_in=-30)  # deferred long ago, retry due 30 s ago
    status, body = readyz()
    assert status == 200
    assert 29 <= body["queue"]["oldest_due_seconds"] < 120


def test_jobs_scheduled_for_later_are_not_a_backlog() -> None:
    worker_heartbeat(seconds_ago=1)
    for _ in range(5):
        todo_job("engine", waited=600, scheduled_in=3600)
    status, body = readyz()
    assert status == 200
    assert body["queue"]["due_jobs"] == 0
