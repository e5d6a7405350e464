"""Background jobs of the engine (procrastinate; autodiscovered as `tasks` modules).

Jobs are async so one worker process runs many HTTP dispatches at once; the database
work they do goes through `sync_to_async` into the engine services.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision

from flows import dispatch, engine
from flows.workers import RetryableWorkerError, WorkerOutcome
from stitch import observe

logger = logging.getLogger(__name__)
QUEUE = "engine"


class DispatchRetry(RetryStrategy):
    """Exponential backoff for transient worker failures only: base * 2**attempt
    seconds (WORKER_RETRY_BACKOFF_SECONDS, read at decision time). The task itself
    decides when a node's `retries` are used up, so no retry cap is needed here."""

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if not isinstance(exception, RetryableWorkerError):
            return None
        wait = float(settings.WORKER_RETRY_BACKOFF_SECONDS) * (2**job.attempts)
        return RetryDecision(retry_in={"seconds": wait})


@app.task(name="engine.dispatch_node", queue=QUEUE, pass_context=True, retry=DispatchRetry())
async def dispatch_node(context: JobContext, *, run_id: str, node_id: str, attempt: int) -> None:
    """Run a node's worker once (HTTP or built-in) and apply what it answered."""
    target = await sync_to_async(dispatch.load_target)(
        run_id=run_id, node_id=node_id, attempt=attempt
    )
    if target is None:
        return  # the node moved on (retried, finished, cancelled): nothing to send
    started = time.perf_counter()
    try:
        outcome = await dispatch.perform(target)
    except RetryableWorkerError as exc:
        tries = context.job.attempts if context.job else 0
        if tries < target.retries:
            observe.dispatch_retried(started=started, error=exc, attempt=tries + 1)
            raise  # DispatchRetry schedules the next try
        outcome = WorkerOutcome("failed", error=f"{exc} (after {tries + 1} attempts)")
        observe.dispatch_gave_up(started=started, error=outcome.error, attempts=tries + 1)
    except Exception as exc:  # a built-in worker's bug fails its node, not the queue
        logger.exception("worker of %s/%s crashed", run_id, node_id)
        outcome = WorkerOutcome("failed", error=f"worker error: {exc}")
    else:
        observe.dispatch_answered(started=started, status=outcome.status)
    if outcome.status == "running":
        return  # the callback (or a scheduled completion) reports later
    await sync_to_async(engine.worker_outcome_apply)(
        run_id=run_id, node_id=node_id, attempt=attempt, outcome=outcome
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
    for job in await app.job_manager.get_stalled_jobs():
        logger.warning("retrying stalled job %s (%s)", job.id, job.task_name)
        await app.job_manager.retry_job(job)
