"""Background jobs of the engine (procrastinate; autodiscovered as `tasks` modules).

Jobs are async so one worker process runs many HTTP dispatches at once; the database
work they do goes through `sync_to_async` into the engine services.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Any

import aiohttp
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision

from flows import dispatch, engine, sql
from flows.backoff import backoff_seconds, retry_after_wait
from flows.workers import RetryableWorkerError, WorkerOutcome
from stitch import logs, observe
from stitch.jobqueue import stalled_jobs_retry

logger = logging.getLogger(__name__)
QUEUE = "engine"


class DispatchRetry(RetryStrategy):
    """Backoff for transient worker failures only (flows.backoff): capped exponential
    with jitter, or the answer's `Retry-After` (capped). Settings are read at decision
    time. The task itself decides when a node's `retries` are used up, so no retry cap
    is needed here."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, RetryableWorkerError):
            return None
        if exception.retry_after is not None:
            cap = float(settings.WORKER_RETRY_AFTER_MAX_SECONDS)
            wait = retry_after_wait(exception.retry_after, cap=cap)
        else:
            wait = backoff_seconds(
                job.attempts,
                base=float(settings.WORKER_RETRY_BACKOFF_SECONDS),
                cap=float(settings.WORKER_RETRY_BACKOFF_MAX_SECONDS),
            )
        return RetryDecision(retry_at=timezone.now() + timedelta(seconds=wait))


@app.task(name="engine.dispatch_node", queue=QUEUE, pass_context=True, retry=DispatchRetry())
async def dispatch_node(
    context: JobContext,
    *,
    run_id: str,
    nodes: list[list[Any]] | None = None,
    node_id: str | None = None,
    attempt: int | None = None,
) -> None:
    """Run the workers of a batch of a run's nodes (`nodes`: [node_id, attempt] pairs;
    jobs deferred before batches name one `node_id`/`attempt`) concurrently, and apply
    what they answered together. A node whose dispatch failed transiently and has tries
    left stays in the job alone with the others so retried; every other node's result
    is applied and it leaves the job."""
    pairs = nodes if nodes is not None else [[node_id, attempt]]
    wanted = [(str(n), int(a)) for n, a in pairs]
    targets = await sync_to_async(dispatch.load_targets)(run_id=run_id, nodes=wanted)
    if not targets:
        return  # the nodes moved on (retried, finished, cancelled): nothing to send
    tries = context.job.attempts if context.job else 0
    async with dispatch.dispatch_session() as session:
        answers = await asyncio.gather(
            *(_dispatch_one(target, tries, session) for target in targets)
        )
    settled: list[tuple[str, int, WorkerOutcome]] = []
    again: list[RetryableWorkerError] = []
    keep: list[list[Any]] = []
    for target, answer in zip(targets, answers, strict=True):
        if isinstance(answer, RetryableWorkerError):
            again.append(answer)
            keep.append([target.call.node_id, target.call.attempt])
        elif answer.status != "running":  # "running": the callback reports later
            settled.append((target.call.node_id, target.call.attempt, answer))
    job_id = context.job.id if context.job and again else None
    if settled or job_id is not None:
        await sync_to_async(_apply)(run_id=run_id, outcomes=settled, job_id=job_id, keep=keep)
    if again:
        raise _batch_retry(again)  # DispatchRetry schedules the job's next try


async def _dispatch_one(
    target: dispatch.Target, tries: int, session: aiohttp.ClientSession
) -> WorkerOutcome | RetryableWorkerError:
    """One node's dispatch: its outcome, or the transient error to retry it with."""
    call = target.call
    with logs.bound_ids(node_id=call.node_id):
        started = time.perf_counter()
        try:
            outcome = await dispatch.perform(target, session)
        except RetryableWorkerError as exc:
            if tries < target.retries:
                observe.dispatch_retried(started=started, error=exc, attempt=tries + 1)
                return exc
            outcome = WorkerOutcome("failed", error=f"{exc} (after {tries + 1} attempts)")
            observe.dispatch_gave_up(started=started, error=outcome.error, attempts=tries + 1)
        except Exception as exc:  # a built-in worker's bug fails its node, not the batch
            logger.exception("worker of %s/%s crashed", call.run_id, call.node_id)
            outcome = WorkerOutcome("failed", error=f"worker error: {exc}")
        else:
            observe.dispatch_answered(started=started, status=outcome.status)
    return outcome


def _batch_retry(errors: list[RetryableWorkerError]) -> RetryableWorkerError:
    """One error for the nodes retried together: the longest `Retry-After` any of them
    asked for (waiting at least that long honours each), else the usual backoff."""
    waits = [e.retry_after for e in errors if e.retry_after is not None]
    message = "; ".join(str(e) for e in errors[:3]) + (" ..." if len(errors) > 3 else "")
    return RetryableWorkerError(message, retry_after=max(waits) if waits else None)


def _apply(
    *,
    run_id: str,
    outcomes: list[tuple[str, int, WorkerOutcome]],
    job_id: int | None,
    keep: list[list[Any]],
) -> None:
    """Apply a batch's outcomes in one transaction (and narrow the job to the nodes it
    retries in that same commit). If that fails, each outcome is applied on its own, so
    one result that cannot be applied fails its node only."""
    try:
        with transaction.atomic():
            engine.worker_outcomes_apply(run_id=run_id, outcomes=outcomes)
            if job_id is not None:
                sql.dispatch_job_narrow(job_id=job_id, nodes=keep)
        return
    except Exception:
        logger.exception("outcomes of run %s could not be applied together", run_id)
    for node_id, attempt, outcome in outcomes:
        _apply_alone(run_id=run_id, node_id=node_id, attempt=attempt, outcome=outcome)
    if job_id is not None:
        sql.dispatch_job_narrow(job_id=job_id, nodes=keep)


def _apply_alone(*, run_id: str, node_id: str, attempt: int, outcome: WorkerOutcome) -> None:
    """Apply one dispatch's outcome; if that fails, fail the node saying so rather than
    leave it `running` until its callback timeout."""
    with logs.bound_ids(node_id=node_id):
        try:
            engine.worker_outcome_apply(
                run_id=run_id, node_id=node_id, attempt=attempt, outcome=outcome
            )
        except Exception as exc:
            logger.exception("outcome of %s/%s could not be applied", run_id, node_id)
            error = f"the worker's result could not be applied: {exc}"
            engine.worker_outcome_apply(
                run_id=run_id,
                node_id=node_id,
                attempt=attempt,
                outcome=WorkerOutcome("failed", error=error),
            )


@app.task(name="engine.complete_node", queue=QUEUE)
def complete_node(*, run_id: str, node_id: str, attempt: int, output: Any = None) -> None:
    """A built-in worker's later completion (the `delay` worker schedules this)."""
    engine.worker_outcome_apply(
        run_id=run_id,
        node_id=node_id,
        attempt=attempt,
        outcome=WorkerOutcome("completed", output=output),
    )


@app.periodic(cron="* * * * * */15", periodic_id="callbacks-expire")
@app.task(name="engine.callbacks_expire", queue=QUEUE, queueing_lock="engine.callbacks_expire")
def callbacks_expire(timestamp: int) -> None:
    """Fail nodes whose callback did not arrive within `callbackTimeoutSeconds`."""
    expired = engine.callbacks_expire()
    if expired:
        logger.info("%d node(s) failed: callback timed out", expired)


@app.periodic(cron="* * * * * */30", periodic_id="retry-stalled-jobs")
@app.task(name="engine.retry_stalled_jobs", queueing_lock="engine.retry_stalled_jobs")
async def retry_stalled_jobs(timestamp: int) -> None:
    """Put jobs of crashed workers (no heartbeat for `stalled_worker_timeout`) back in
    the queue; dispatch jobs are safe to rerun (they re-check the node's attempt)."""
    await stalled_jobs_retry(app.job_manager)
