"""Retries of failed dispatches (SPEC 5): exponential backoff with jitter and a cap;
`Retry-After` (seconds or an HTTP date, capped) sets the wait instead."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from django.utils import timezone
from procrastinate.jobs import Job

from flows.backoff import parse_retry_after
from flows.tasks import DispatchRetry
from flows.workers import RetryableWorkerError
from tests.engine.conftest import detail, node, start, workflow


def job(attempts: int) -> Job:
    return Job(
        id=1, queue="engine", lock=None, queueing_lock=None, task_name="t", attempts=attempts
    )


def waits(settings, attempts: int, error: Exception, count: int = 200) -> list[float]:
    strategy = DispatchRetry()
    out = []
    for _ in range(count):
        decision = strategy.get_retry_decision(exception=error, job=job(attempts))
        assert decision is not None and decision.retry_at is not None
        out.append((decision.retry_at - timezone.now()).total_seconds())
    return out


def test_simultaneous_failures_come_back_spread_out(settings) -> None:
    settings.WORKER_RETRY_BACKOFF_SECONDS = 2
    found = waits(settings, 3, RetryableWorkerError("HTTP 429"))
    # base * 2**3 = 16 s: each wait is within [8, 16], and they are not all the same.
    assert min(found) >= 8 - 0.5 and max(found) <= 16
    assert max(found) - min(found) > 4


def test_the_backoff_is_capped(settings) -> None:
    settings.WORKER_RETRY_BACKOFF_SECONDS = 2
    settings.WORKER_RETRY_BACKOFF_MAX_SECONDS = 60
    assert max(waits(settings, 30, RetryableWorkerError("down"), count=50)) <= 60


def test_retry_after_sets_the_wait_with_a_little_spread_and_a_cap(settings) -> None:
    settings.WORKER_RETRY_AFTER_MAX_SECONDS = 120
    found = waits(settings, 0, RetryableWorkerError("429", retry_after=30))
    assert min(found) >= 30 - 0.5 and max(found) <= 33
    capped = waits(settings, 0, RetryableWorkerError("429", retry_after=86400), count=20)
    assert min(capped) >= 120 - 0.5 and max(capped) <= 132


def test_other_errors_are_not_retried() -> None:
    assert DispatchRetry().get_retry_decision(exception=ValueError("bug"), job=job(0)) is None


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        (format_datetime(datetime(2030, 1, 1, 0, 2, tzinfo=UTC), usegmt=True), 120.0),
        ("Tue, 01 Jan 2030 00:00:00 GMT", 0.0),  # in the past: at once
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(header, seconds) -> None:
    now = datetime(2030, 1, 1, tzinfo=UTC)
    if header == "Tue, 01 Jan 2030 00:00:00 GMT":
        now += timedelta(hours=1)
    assert parse_retry_after(header, now=now) == seconds


@pytest.mark.django_db(transaction=True)
def test_a_429_with_retry_after_is_retried_no_sooner_than_asked(
    owner, owner_client, worker, run_jobs
) -> None:
    worker.script("a", (429, {"slow": "down"}), (200, {"status": "completed", "output": 1}))
    worker.headers["a"] = {"Retry-After": "1"}
    flow = workflow(owner, [node("a", webhookUrl=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    first, second = (r["at"] for r in worker.requests)
    assert second - first >= 1.0
    assert detail(owner_client, run["id"])["status"] == "completed"


@pytest.mark.django_db(transaction=True)
def test_the_http_worker_honours_retry_after_too(owner, owner_client, worker, run_jobs) -> None:
    worker.script("", (503, {"busy": True}), (200, {"fine": True}))
    worker.headers[""] = {"Retry-After": "1"}
    flow = workflow(owner, [node("h", workerType="http", url=worker.url)], [])
    run = start(owner_client, flow)
    run_jobs()
    first, second = (r["at"] for r in worker.requests)
    assert second - first >= 1.0
    assert detail(owner_client, run["id"])["node_states"]["h"]["output"] == {"fine": True}


def test_jitter_uses_the_whole_window() -> None:
    from flows.backoff import backoff_seconds

    rng = random.Random(7)
    found = [backoff_seconds(4, base=1, cap=1000, rng=rng) for _ in range(500)]
    assert 8 <= min(found) < 9 and 15 < max(found) <= 16
