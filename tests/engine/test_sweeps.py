"""Periodic sweeps (SPEC 5): callback timeouts and stalled jobs. One run's or one job's
trouble never stops a sweep."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app

from flows import engine, tasks
from flows.engine import services
from tests.engine.conftest import detail, node, start, workflow

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_run_that_cannot_be_expired_does_not_stop_the_others(
    owner, owner_client, worker, run_jobs, monkeypatch
) -> None:
    flow = workflow(owner, [node("a", webhookUrl=worker.url, callbackTimeoutSeconds=1)], [])
    runs = [start(owner_client, flow) for _ in range(3)]
    run_jobs()
    time.sleep(1.1)
    broken = runs[1]["id"]
    real_locked_run = services._locked_run

    def locked_run(run_id):
        if str(run_id) == broken:
            raise RuntimeError("this run's row is unreadable")
        return real_locked_run(run_id)

    monkeypatch.setattr(services, "_locked_run", locked_run)
    assert engine.callbacks_expire() == 2
    statuses = [detail(owner_client, r["id"])["node_states"]["a"]["status"] for r in runs]
    assert statuses == ["failed", "running", "failed"]


def run_async(coroutine) -> None:
    """Run a coroutine that talks to the database through procrastinate's Django
    connector, then close the connection that left in asgiref's thread (the
    `run_jobs` fixture ends every other session at teardown)."""

    async def and_close() -> None:
        try:
            await coroutine
        finally:
            await sync_to_async(connections.close_all, thread_sensitive=True)()

    asyncio.run(and_close())


def jobs_sql(sql: str, *params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def stalled_jobs(count: int) -> list[int]:
    """`doing` jobs with no worker: what a killed worker leaves once pruned."""
    for index in range(count):
        tasks.complete_node.defer(
            run_id="00000000-0000-0000-0000-000000000000", node_id=f"n{index}", attempt=1
        )
    jobs_sql("UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL")
    return [row[0] for row in jobs_sql("SELECT id FROM procrastinate_jobs ORDER BY id")]


def test_the_stalled_job_sweep_tolerates_a_job_another_sweep_already_retried(
    run_jobs: Callable[..., None], monkeypatch
) -> None:
    first, second = stalled_jobs(2)

    async def sweep_after_another_took_the_first() -> None:
        stale = list(await app.job_manager.get_stalled_jobs())
        # Another sweep (the webhooks' one, or another worker's) got there first.
        await app.job_manager.retry_job(stale[0])
        real = app.job_manager.get_stalled_jobs

        async def still_listing_it(**kwargs):
            return [stale[0], *await real(**kwargs)]

        monkeypatch.setattr(app.job_manager, "get_stalled_jobs", still_listing_it)
        await tasks.retry_stalled_jobs(timestamp=0)

    run_async(sweep_after_another_took_the_first())
    statuses = dict(jobs_sql("SELECT id, status::text FROM procrastinate_jobs"))
    assert statuses == {first: "todo", second: "todo"}


def test_two_sweeps_at_once_retry_each_stalled_job_once(run_jobs) -> None:
    stalled_jobs(5)

    async def two_sweeps() -> None:
        await asyncio.gather(
            tasks.retry_stalled_jobs(timestamp=0), tasks.retry_stalled_jobs(timestamp=1)
        )

    run_async(two_sweeps())
    rows = jobs_sql("SELECT status::text, attempts FROM procrastinate_jobs")
    assert rows == [("todo", 1)] * 5
