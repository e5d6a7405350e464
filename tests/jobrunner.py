"""Run procrastinate jobs inside a test, in this process (see the `run_jobs` fixture).

The worker fetches jobs through the worker connector (a psycopg pool, as
`manage.py procrastinate worker` does: the Django connector cannot run a worker),
closed when it stops. The tasks' ORM calls, made through `sync_to_async`, run in
asgiref's single shared executor thread on that thread's own Django connection;
`run_pending_jobs` closes it again, or it would block the test database's teardown.
"""

from __future__ import annotations

import asyncio
import time

from asgiref.sync import sync_to_async
from django.db import connection, connections
from procrastinate.contrib.django import app
from procrastinate.contrib.django.django_connector import DjangoConnector

# Tables procrastinate owns; pytest-django's flush leaves them alone (unmanaged models).
_JOB_TABLES = (
    "procrastinate_periodic_defers",
    "procrastinate_events",
    "procrastinate_jobs",
    "procrastinate_workers",
)


def jobs_clear() -> None:
    """Forget every job (left over by an earlier transactional test)."""
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(_JOB_TABLES)} CASCADE")


def worker_sessions_end() -> None:
    """End every other session on the test database: sync tasks run in a thread pool
    whose threads keep their Django connections (CONN_MAX_AGE), and an open session
    would stop pytest-django from dropping the test database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def _next_due_in() -> float | None:
    """Seconds until the next waiting job is due (0 if one is due now), None if none."""
    with connection.cursor() as cursor:
        # A job deferred without a schedule has scheduled_at NULL: due now.
        cursor.execute(
            "SELECT count(*), EXTRACT(EPOCH FROM min(scheduled_at) - now())"
            " FROM procrastinate_jobs WHERE status = 'todo'"
        )
        row = cursor.fetchone()
    if row is None or not row[0]:
        return None
    return max(0.0, float(row[1] or 0.0))


def _close_worker_connections() -> None:
    asyncio.run(sync_to_async(connections.close_all, thread_sensitive=True)())


def run_pending_jobs(*, horizon: float = 10.0, concurrency: int = 8) -> None:
    """Run jobs until none is left, waiting for jobs scheduled within `horizon` seconds
    (retry backoff, delays). Jobs due later stay queued."""
    deadline = time.monotonic() + horizon
    try:
        while True:
            django_connector = app.connector
            assert isinstance(django_connector, DjangoConnector)
            with app.replace_connector(django_connector.get_worker_connector()):
                app.run_worker(
                    wait=False,
                    install_signal_handlers=False,
                    listen_notify=False,
                    concurrency=concurrency,
                )
            due_in = _next_due_in()
            if due_in is None or time.monotonic() + due_in > deadline:
                return
            time.sleep(min(due_in, 0.5) + 0.01)
    finally:
        _close_worker_connections()
