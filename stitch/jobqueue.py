"""Shared plumbing of the job queue (procrastinate)."""

from __future__ import annotations

import logging

from procrastinate import exceptions
from procrastinate.manager import JobManager

logger = logging.getLogger(__name__)


async def stalled_jobs_retry(manager: JobManager, *, task_name: str | None = None) -> int:
    """Put jobs left `doing` by workers that stopped sending heartbeats (killed, machine
    lost) back in the queue; returns how many.

    Several sweeps may run at once (a periodic one per task family, on every worker
    process) and see the same stalled job: the first retries it, and procrastinate
    then refuses the others ("invalid status to retry"). That is expected, and neither
    it nor any other error with one job stops the sweep.
    """
    retried = 0
    for job in await manager.get_stalled_jobs(task_name=task_name):
        try:
            await manager.retry_job(job)
        except exceptions.ConnectorException as exc:
            if "invalid status to retry" in str(exc.__cause__ or exc):
                logger.info("stalled job %s was already retried by another sweep", job.id)
            else:
                logger.warning("stalled job %s could not be retried: %s", job.id, exc)
            continue
        except Exception:
            logger.exception("stalled job %s could not be retried", job.id)
            continue
        logger.warning("retried stalled job %s (%s)", job.id, job.task_name)
        retried += 1
    return retried
