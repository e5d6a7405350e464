from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.db.utils import DatabaseError
from django.http import HttpRequest, JsonResponse

from stitch import ops_sql


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers; deliberately touches no database."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database answers, a job worker has sent a heartbeat recently and
    the queue is not backed up past the READYZ_* thresholds (503 otherwise)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        worker = _worker_check(ops_sql.worker_state())
        queue = _queue_check(ops_sql.queue_state())
    except DatabaseError:
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    ready = worker["status"] != "silent" and queue["status"] != "backlogged"
    body = {
        "status": "ok" if ready else "unavailable",
        "database": "ok",
        "worker": worker,
        "queue": queue,
    }
    return JsonResponse(body, status=200 if ready else 503)


def _worker_check(state: ops_sql.WorkerState) -> dict[str, Any]:
    limit = settings.READYZ_WORKER_MAX_SILENCE_SECONDS
    age = state.last_heartbeat_seconds
    if not limit:
        status = "unchecked"
    elif age is None or age > limit:
        status = "silent"
    else:
        status = "ok"
    return {
        "status": status,
        "workers": state.registered,
        "last_heartbeat_seconds_ago": None if age is None else round(age, 1),
        "max_silence_seconds": limit,
    }


def _queue_check(state: ops_sql.QueueState) -> dict[str, Any]:
    due = sum(state.due.values())
    oldest = max(state.oldest_due_seconds.values(), default=0.0)
    max_due, max_wait = settings.READYZ_MAX_DUE_JOBS, settings.READYZ_MAX_JOB_WAIT_SECONDS
    backlogged = bool(max_due and due > max_due) or bool(max_wait and oldest > max_wait)
    return {
        "status": "backlogged" if backlogged else "ok",
        "due_jobs": due,
        "oldest_due_seconds": round(oldest, 1),
        "max_due_jobs": max_due,
        "max_wait_seconds": max_wait,
    }
