"""Background jobs of inbound webhooks (procrastinate). Thin: each calls a service."""

from __future__ import annotations

from procrastinate import JobContext, RetryStrategy
from procrastinate.contrib.django import app

from stitch.jobqueue import stalled_jobs_retry

PROCESS_TASK = "webhooks.process_event"
QUEUE = "webhooks"


@app.task(
    name=PROCESS_TASK,
    queue=QUEUE,
    # Only a passing database error (outage, deadlock, timeout) propagates out of
    # processing; every other failure, refused data included, marks the event failed.
    # Its transaction rolled back, so the event is pending again.
    retry=RetryStrategy(max_attempts=5, exponential_wait=2),
)
def process_event(event_id: str) -> None:
    from webhooks.services import webhook_event_process

    webhook_event_process(event_id=event_id)


@app.periodic(cron="* * * * *", periodic_id="webhooks-recover-events")
@app.task(name="webhooks.recover_events", queue=QUEUE, queueing_lock="webhooks.recover_events")
def recover_events(timestamp: int) -> None:
    """Every minute: re-queue events a crash left pending/processing without a job."""
    from webhooks.services import webhook_events_recover

    webhook_events_recover()


@app.periodic(cron="* * * * *", periodic_id="webhooks-retry-stalled")
@app.task(
    name="webhooks.retry_stalled_jobs",
    queue=QUEUE,
    queueing_lock="webhooks.retry_stalled_jobs",
    pass_context=True,
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> None:
    """Every minute: processing jobs left `doing` by a worker that stopped sending
    heartbeats (killed, machine lost) go back to the queue."""
    await stalled_jobs_retry(context.app.job_manager, task_name=PROCESS_TASK)


@app.periodic(cron="17 * * * *", periodic_id="webhooks-remove-failed-jobs")
@app.task(
    name="webhooks.remove_failed_jobs",
    queue=QUEUE,
    queueing_lock="webhooks.remove_failed_jobs",
    pass_context=True,
)
async def remove_failed_jobs(context: JobContext, timestamp: int) -> None:
    """Every hour: drop this queue's finished and failed job rows older than an hour.

    A processing job fails only after its retries ran out on a passing database error;
    the event keeps the reason and the recovery sweep gives it a new job, so the failed
    row tells nothing more, and kept rows slow down job claiming (limits.md)."""
    await context.app.job_manager.delete_old_jobs(nb_hours=1, queue=QUEUE, include_failed=True)
