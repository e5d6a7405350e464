"""Background jobs of the engine (procrastinate; autodiscovered as `tasks` modules).

Jobs are async so one worker process runs many HTTP dispatches at once; the database
work they do goes through `sync_to_async` into the engine services.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app
from procrastinate.jobs import Job
from procrastinate.retry import RetryDecision

from flows import dispatch, engine
from flows.backoff import backoff_seconds, retry_after_wait
from flows.workers import RetryableWorkerError, WorkerOutcome
from stitch import observe
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
    await sync_to_async(_apply)(run_id=run_id, node_id=node_id, attempt=attempt, outcome=outcome)


def _apply(*, run_id: str, node_id: str, attempt: int, outcome: WorkerOutcome) -> None:
    """Apply a dispatch's outcome; if that fails, fail the node saying so rather than
    leave it `running` until its callback timeout."""
    try:
        engine.worker_outcome_apply(
            run_id=run_id, node_id=node_id, attempt=attempt, outcome=outcome
        )
    except Exception as exc:
        logger.exception("outcome of %s/%s could not be applied", run_id, node_id)
        failure = WorkerOutcome("failed", error=f"the worker's result could not be applied: {exc}")
        engine.worker_outcome_apply(
            run_id=run_id, node_id=node_id, attempt=attempt, outcome=failure
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
