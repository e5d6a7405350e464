"""Deferring engine jobs on Django's own database connection.

Jobs are inserted by the same transaction that changes the run, so a job exists
exactly when its state change committed. `manage.py procrastinate worker` swaps the
app's connector for a pooled one (for LISTEN/NOTIFY); a job deferred through that
connector would commit on its own, so the engine always defers through a job manager
bound to a Django connector instead.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from procrastinate import manager
from procrastinate.contrib.django.django_connector import DjangoConnector
from procrastinate.jobs import JobDeferrer
from procrastinate.tasks import Task

from flows.models import RunNode
from stitch import logs


@functools.cache
def _django_job_manager() -> manager.JobManager:
    return manager.JobManager(DjangoConnector())


def defer_on_django(task: Task[Any, Any, Any], *kwargs: dict[str, Any], **options: Any) -> None:
    """Defer one job per kwargs dict in one INSERT, inside the current transaction."""
    if not kwargs:
        return
    job = task.configure(**options).job
    # Each job carries the id of the request that deferred it (stitch.logs).
    JobDeferrer(job_manager=_django_job_manager(), job=job).batch_defer(
        *map(logs.job_kwargs, kwargs)
    )


def dispatch_defer(nodes: Sequence[RunNode]) -> None:
    """One dispatch job per chunk of `DISPATCH_BATCH_SIZE` nodes of a run (a fired step's
    nodes usually share one run): the job sends its chunk's dispatches concurrently and
    applies their synchronous replies under one acquisition of the run lock, instead of
    a job round trip (claim, lock, commit, finish) per node."""
    from flows.tasks import dispatch_node

    size = max(1, int(settings.DISPATCH_BATCH_SIZE))
    by_run: dict[str, list[list[Any]]] = {}
    for n in nodes:
        by_run.setdefault(str(n.run_id), []).append([n.node_id, n.attempts])
    defer_on_django(
        dispatch_node,
        *(
            {"run_id": run_id, "nodes": chunk[start : start + size]}
            for run_id, chunk in by_run.items()
            for start in range(0, len(chunk), size)
        ),
    )


def completion_defer(
    *, run_id: Any, node_id: str, attempt: int, output: Any, seconds: float
) -> None:
    """A built-in worker's completion, due in `seconds` (the `delay` worker)."""
    from flows.tasks import complete_node

    kwargs = {"run_id": str(run_id), "node_id": node_id, "attempt": attempt, "output": output}
    defer_on_django(complete_node, kwargs, schedule_in={"seconds": seconds})
